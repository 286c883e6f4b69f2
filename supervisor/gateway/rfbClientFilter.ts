/**
 * Resumable parser and filter for the client→server half of an RFB (VNC) stream.
 *
 * Trust rules enforced here, whatever the renderer does:
 * - no ClientCutText reaches a cage: the clipboard crosses only through the broker;
 * - keyboard and pointer events reach a cage only while it is in front (trusted path, property 4);
 * - only the fixed message set noVNC uses is accepted; anything else closes the connection.
 * Bytes are forwarded only in whole messages, so the gateway may inject messages (key releases)
 * between two pushes without splitting one.
 */
import { CloisonError } from '../../shared/errors';

export const ClientMessage = {
  SetPixelFormat: 0,
  SetEncodings: 2,
  FramebufferUpdateRequest: 3,
  KeyEvent: 4,
  PointerEvent: 5,
  ClientCutText: 6,
  EnableContinuousUpdates: 150,
  ClientFence: 248,
  Xvp: 250,
  SetDesktopSize: 251,
  Qemu: 255,
} as const;

const QEMU_EXTENDED_KEY = 0;

/**
 * Pseudo-encodings removed from the viewer's SetEncodings. Without cursor encodings the cage's
 * server draws its cursor into its own framebuffer, inside the frame: no cage-supplied cursor
 * image can float over the band. Without DesktopName the cage cannot even send a new name.
 */
export const STRIPPED_ENCODINGS: ReadonlySet<number> = new Set([
  -239, // Cursor
  -240, // XCursor
  0x574d5664, // VMware cursor
  -307, // DesktopName
]);
/**
 * A SetEncodings the gateway sends the cage with the viewer's ClientInit: DesktopSize only. The
 * supervisor sizes a cage to its frame (geometry: auto) about when its first viewers connect, and
 * TigerVNC's Xvnc, resized after it sent a client ServerInit but before that client's own
 * SetEncodings said it takes a size change, closes the connection ("Client does not support
 * desktop resize"): the viewer, a round trip through a loaded renderer away, reconnected a second
 * later with a second ticket (issue #26). Sent in the same write as ClientInit, the cage reads both
 * in one go: no such window is left (resizeAtHandshake.test.ts). The viewer's own SetEncodings
 * replaces this list whole, and the cage sends no update before the viewer asks for one: the
 * viewer gets only what it asked for.
 */
export const HANDSHAKE_ENCODINGS: Buffer = (() => {
  const msg = Buffer.alloc(8);
  msg[0] = ClientMessage.SetEncodings;
  msg.writeUInt16BE(1, 2);
  msg.writeInt32BE(-223, 4); // DesktopSize
  return msg;
})();
const SECURITY_NONE = 1;
const EMPTY = Buffer.alloc(0);
const SECURITY_VNC_AUTH = 2;

type State = 'version' | 'security' | 'vncAuth' | 'clientInit' | 'message' | 'skipCutText' | 'closed';

export interface RfbFilterOptions {
  /** Asked for every key and pointer event: is this cage the one in front? */
  inputAllowed: () => boolean;
  /** Called for each dropped message, for counters and tests. */
  onDrop?: (type: number, reason: 'clipboard' | 'not-in-front' | 'not-allowed') => void;
  /** Inspects each key event forwarded to the cage (e.g. to swallow the secure-attention key). */
  /** `scancode` is the XT scancode of a QEMU extended key event, null for a plain KeyEvent. */
  keyFilter?: (keysym: number, down: boolean, scancode: number | null) => boolean;
  /** Longest ClientCutText accepted (then dropped) before the connection is closed as abusive. */
  maxCutTextBytes?: number;
  /** Most encodings a SetEncodings may list. */
  maxEncodings?: number;
  /** Encodings never announced to a cage (default: STRIPPED_ENCODINGS). */
  strippedEncodings?: ReadonlySet<number>;
}

export class RfbProtocolError extends CloisonError {
  constructor(message: string) {
    super('RFB_PROTOCOL', message);
  }
}

/** A key held down in the cage, remembered so that it can be released when the cage loses focus. */
interface HeldKey {
  keysym: number;
  keycode: number | null;
}

export class RfbClientFilter {
  private state: State = 'version';
  private pending: Buffer = EMPTY;
  /**
   * The forwarded bytes of this push not yet in `out`: whole messages back to back are forwarded
   * as one slice of the viewer's chunk, not a slice each (no garbage per message on the hot path).
   */
  private runStart = 0;
  private runEnd = 0;
  private skipRemaining = 0;
  private readonly held = new Map<string, HeldKey>();
  private readonly maxCutText: number;
  private readonly maxEncodings: number;

  constructor(private readonly options: RfbFilterOptions) {
    this.maxCutText = options.maxCutTextBytes ?? 16 * 1024 * 1024;
    this.maxEncodings = options.maxEncodings ?? 256;
  }

  get phase(): State {
    return this.state;
  }

  /** Feed bytes from the viewer; returns the slices to forward to the cage, in order. */
  push(chunk: Buffer): Buffer[] {
    if (this.state === 'closed') throw new RfbProtocolError('connection already closed by the filter');
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    let at = 0;
    this.runStart = this.runEnd = 0;
    try {
      for (;;) {
        if (this.state === 'skipCutText') {
          const n = Math.min(this.skipRemaining, buf.length - at);
          this.skipRemaining -= n;
          at += n;
          if (this.skipRemaining > 0) break;
          this.state = 'message';
          continue;
        }
        const used = this.step(buf, at, out);
        if (used === 0) break;
        at += used;
      }
    } catch (err) {
      this.state = 'closed';
      throw err;
    }
    this.flush(buf, out);
    // Keep only an incomplete header; message bodies are never larger than a few kilobytes here.
    this.pending = at < buf.length ? Buffer.from(buf.subarray(at)) : EMPTY;
    return out;
  }

  /** KeyEvent messages that release every key the cage still believes is held. */
  releaseHeldKeys(): Buffer | null {
    if (this.held.size === 0 || this.state !== 'message') return null;
    const parts: Buffer[] = [];
    for (const key of this.held.values()) {
      if (key.keycode === null) {
        const msg = Buffer.alloc(8);
        msg[0] = ClientMessage.KeyEvent;
        msg.writeUInt32BE(key.keysym, 4);
        parts.push(msg);
      } else {
        const msg = Buffer.alloc(12);
        msg[0] = ClientMessage.Qemu;
        msg[1] = QEMU_EXTENDED_KEY;
        msg.writeUInt32BE(key.keysym, 4);
        msg.writeUInt32BE(key.keycode, 8);
        parts.push(msg);
      }
    }
    this.held.clear();
    return Buffer.concat(parts);
  }

  /** Consumes one unit from buf at `at`; returns bytes used, 0 when more bytes are needed. */
  private step(buf: Buffer, at: number, out: Buffer[]): number {
    const left = buf.length - at;
    switch (this.state) {
      case 'version': {
        if (left < 12) return 0;
        const version = buf.toString('latin1', at, at + 12);
        if (version !== 'RFB 003.008\n' && version !== 'RFB 003.007\n') {
          throw new RfbProtocolError(`unsupported client protocol version ${JSON.stringify(version)}`);
        }
        this.state = 'security';
        return this.forward(buf, at, 12, out);
      }
      case 'security': {
        if (left < 1) return 0;
        const type = buf[at];
        if (type === SECURITY_NONE) this.state = 'clientInit';
        else if (type === SECURITY_VNC_AUTH) this.state = 'vncAuth';
        else throw new RfbProtocolError(`security type ${type} is not accepted by the gateway`);
        return this.forward(buf, at, 1, out);
      }
      case 'vncAuth':
        if (left < 16) return 0;
        this.state = 'clientInit';
        return this.forward(buf, at, 16, out);
      case 'clientInit': {
        if (left < 1) return 0;
        this.state = 'message';
        // In one slice with it (one write to the cage), before the viewer has read ServerInit:
        // see HANDSHAKE_ENCODINGS.
        this.flush(buf, out);
        out.push(Buffer.concat([buf.subarray(at, at + 1), HANDSHAKE_ENCODINGS]));
        return 1;
      }
      case 'message':
        return this.message(buf, at, out);
      default:
        throw new RfbProtocolError(`filter in state ${this.state}`);
    }
  }

  private message(buf: Buffer, at: number, out: Buffer[]): number {
    const left = buf.length - at;
    if (left < 1) return 0;
    const type = buf[at] as number;
    switch (type) {
      case ClientMessage.SetPixelFormat:
        return this.forward(buf, at, 20, out);
      case ClientMessage.SetEncodings: {
        if (left < 4) return 0;
        const count = buf.readUInt16BE(at + 2);
        if (count > this.maxEncodings) throw new RfbProtocolError(`SetEncodings lists ${count} encodings (limit ${this.maxEncodings})`);
        const length = 4 + 4 * count;
        if (left < length) return 0;
        const rewritten = this.rewriteEncodings(buf, at, count);
        if (!rewritten) return this.forward(buf, at, length, out);
        this.flush(buf, out);
        out.push(rewritten);
        return length;
      }
      case ClientMessage.FramebufferUpdateRequest:
        return this.forward(buf, at, 10, out);
      case ClientMessage.EnableContinuousUpdates:
        return this.forward(buf, at, 10, out);
      case ClientMessage.ClientFence: {
        if (left < 9) return 0;
        const len = buf[at + 8] as number;
        if (len > 64) throw new RfbProtocolError(`ClientFence payload of ${len} bytes (limit 64)`);
        return this.forward(buf, at, 9 + len, out);
      }
      case ClientMessage.KeyEvent: {
        if (left < 8) return 0;
        return this.input(buf, at, 8, out, true, buf.readUInt32BE(at + 4), null, buf[at + 1] !== 0);
      }
      case ClientMessage.PointerEvent:
        return this.input(buf, at, 6, out, false, 0, null, false);
      case ClientMessage.Qemu: {
        if (left < 2) return 0;
        if (buf[at + 1] !== QEMU_EXTENDED_KEY) throw new RfbProtocolError(`QEMU client message subtype ${buf[at + 1]} is not accepted`);
        if (left < 12) return 0;
        return this.input(buf, at, 12, out, true, buf.readUInt32BE(at + 4), buf.readUInt32BE(at + 8), buf.readUInt16BE(at + 2) !== 0);
      }
      case ClientMessage.ClientCutText: {
        if (left < 8) return 0;
        // A negative length announces an extended-clipboard message of |length| bytes.
        const length = Math.abs(buf.readInt32BE(at + 4));
        if (length > this.maxCutText) throw new RfbProtocolError(`ClientCutText of ${length} bytes (limit ${this.maxCutText})`);
        this.options.onDrop?.(type, 'clipboard');
        this.skipRemaining = length;
        this.state = 'skipCutText';
        return 8;
      }
      case ClientMessage.SetDesktopSize: {
        // The policy fixes each cage's geometry; the shell never resizes a cage.
        if (left < 8) return 0;
        const screens = buf[at + 6] as number;
        return this.drop(buf, at, 8 + 16 * screens, type, 'not-allowed');
      }
      case ClientMessage.Xvp:
        return this.drop(buf, at, 4, type, 'not-allowed');
      default:
        throw new RfbProtocolError(`unknown client message type ${type}`);
    }
  }

  /** The SetEncodings at `at` without the stripped encodings, or null when it lists none of them. */
  private rewriteEncodings(buf: Buffer, at: number, count: number): Buffer | null {
    const stripped = this.options.strippedEncodings ?? STRIPPED_ENCODINGS;
    const kept: number[] = [];
    for (let i = 0; i < count; i++) {
      const encoding = buf.readInt32BE(at + 4 + 4 * i);
      if (!stripped.has(encoding)) kept.push(encoding);
    }
    if (kept.length === count) return null;
    const out = Buffer.alloc(4 + 4 * kept.length);
    out[0] = ClientMessage.SetEncodings;
    out.writeUInt16BE(kept.length, 2);
    kept.forEach((e, i) => out.writeInt32BE(e, 4 + 4 * i));
    return out;
  }

  /** Forwards the whole message at `at`: it joins the run when it follows it, else starts a new one. */
  private forward(buf: Buffer, at: number, length: number, out: Buffer[]): number {
    if (buf.length - at < length) return 0;
    if (this.runEnd !== at) {
      this.flush(buf, out);
      this.runStart = at;
    }
    this.runEnd = at + length;
    return length;
  }

  /** Moves the run into `out`: the viewer's chunk itself when the run is all of it. */
  private flush(buf: Buffer, out: Buffer[]): void {
    if (this.runEnd > this.runStart) out.push(this.runStart === 0 && this.runEnd === buf.length ? buf : buf.subarray(this.runStart, this.runEnd));
    this.runStart = this.runEnd = 0;
  }

  private drop(buf: Buffer, at: number, length: number, type: number, reason: 'clipboard' | 'not-in-front' | 'not-allowed'): number {
    if (buf.length - at < length) return 0;
    this.options.onDrop?.(type, reason);
    return length;
  }

  /**
   * Forwards a key or pointer event only when the cage is in front and, for a key, the key filter
   * agrees (the key's fields passed as arguments: no closure per event).
   */
  private input(buf: Buffer, at: number, length: number, out: Buffer[], isKey: boolean, keysym: number, keycode: number | null, down: boolean): number {
    if (buf.length - at < length) return 0;
    const type = buf[at] as number;
    if (!this.options.inputAllowed()) return this.drop(buf, at, length, type, 'not-in-front');
    if (isKey && !this.trackKey(keysym, keycode, down)) return this.drop(buf, at, length, type, 'not-allowed');
    return this.forward(buf, at, length, out);
  }

  private trackKey(keysym: number, keycode: number | null, down: boolean): boolean {
    if (this.options.keyFilter && !this.options.keyFilter(keysym, down, keycode)) return false;
    const id = keycode === null ? `s${keysym}` : `c${keycode}`;
    if (down) this.held.set(id, { keysym, keycode });
    else this.held.delete(id);
    return true;
  }
}
