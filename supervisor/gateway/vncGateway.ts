/**
 * VNC gateway: WebSocket (viewer in the shell) ⇄ the cage's VNC socket.
 *
 * Admission needs a one-time ticket bound to the cage. The process at the other end of the cage
 * socket must be that cage's own VNC server (peer credentials) before a byte moves either way, and
 * every connection, admitted or refused, is journaled. Client→cage bytes go through the RFB filter
 * (no clipboard, input only to the cage in front, fixed message set); cage→client bytes pass
 * untouched, within a byte budget per viewer. Back-pressure both ways: a slow side pauses the
 * other, no unbounded buffers.
 */
import type { IncomingMessage } from 'node:http';
import { connect, Socket, type NetConnectOpts } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloisonError } from '../../shared/errors';
import type { AuditJournal } from '../audit/auditJournal';
import { FocusState } from './focusState';
import { RfbClientFilter } from './rfbClientFilter';
import { ByteBudget, DEFAULT_BACK_VIEWER_BUDGET, DEFAULT_VIEWER_BUDGET, type ByteBudgetOptions } from './byteBudget';
import { KeyPressCounter } from './keyPressCounter';
import { ReadRing } from './readRing';
import { ReadSizer } from './readSizer';
import { UpdateHold } from './updateHold';
import { FRAME_HEADER_ROOM } from './wsFrame';
import type { TicketRegistry } from './ticketRegistry';

import { VNC_PATH } from './gatewayNames';

export { VNC_PATH };

/** The reads of one framebuffer update are held together up to this many bytes (or updateHoldMs). */
const MAX_HELD_BYTES = 256 * 1024;

/**
 * What the root part answers a viewer's ticket with, when the gateway runs in the unprivileged
 * browser part: refused before the WebSocket opens (an HTTP status), refused once it is open (a
 * close code, as a cage that fails its peer check is), or the cage's connection itself — a
 * descriptor the root part connected and checked, handed over (browserPart/).
 */
export type GatewayAdmission =
  | { refused: { status: number; reason: string } }
  | { session: string; close: { code: number; reason: string } }
  | { session: string; handle: object };

export interface VncGatewayOptions {
  tickets: TicketRegistry;
  /**
   * Set in the browser part: tickets, the lock, the cage's endpoint and its peer are the root
   * part's to check; the gateway gets the connected socket's handle (or the refusal) from here.
   */
  admit?: (level: string, ticket: string) => Promise<GatewayAdmission>;
  /** Called when the key presses delivered to a cage change (the root part's count, for training drills). */
  onKeys?: (level: string, total: number) => void;
  focus: FocusState;
  /** Where a cage's VNC server listens, or null when the cage is not running. */
  endpointOf: (level: string) => NetConnectOpts | null;
  /** Throws unless the peer of a connection to the cage's endpoint is that cage (cageDriver.ts). */
  verifyPeerOf?: (level: string) => ((socket: Socket) => void) | undefined;
  /** Every viewer connection, admitted or refused at the cage's socket, is recorded here. */
  journal?: AuditJournal;
  /** Called with every viewer (its cage and the shell session its ticket was issued to) on any change. */
  onViewers?: (viewers: ViewerInfo[]) => void;
  /** Why no viewer may connect now (the workstation is locked), or null when one may. */
  refusal?: () => string | null;
  /** Keys no cage may ever receive (the secure-attention key, by keysym or by scancode). */
  reservedKey?: (keysym: number, scancode: number | null) => boolean;
  /** Pause the cage socket when this many bytes wait to reach the viewer. */
  highWaterMark?: number;
  /**
   * Bytes per second a cage may send one viewer (DEFAULT_VIEWER_BUDGET unless given); null for
   * none, only to measure the proxy's own capacity.
   */
  viewerBudget?: ByteBudgetOptions | null;
  /** The budget of a viewer whose cage is not in front (DEFAULT_BACK_VIEWER_BUDGET unless given; null: viewerBudget's). */
  backViewerBudget?: ByteBudgetOptions | null;
  maxViewersPerCage?: number;
  /**
   * How long the reads of one framebuffer update may wait for its last rectangle, from the first
   * (16 ms, a display frame, unless given): only a cage slow within an update, or lying about its
   * lengths, waits that long; what came of it then goes on, the rest follows as it comes.
   */
  updateHoldMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface ViewerInfo {
  level: string;
  session: string;
}

interface Bridge {
  level: string;
  session: string;
  ws: WebSocket;
  cage: Socket;
  filter: RfbClientFilter;
  close(code: number, reason: string): void;
  /** Its cage came to front: a wait counted at the back budget's rate ends now. */
  cameToFront(): void;
}

export class VncGateway {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 4 * 1024 * 1024 });
  private readonly bridges = new Set<Bridge>();
  private readonly highWaterMark: number;
  private readonly maxViewers: number;
  private readonly updateHoldMs: number;
  /** Counters for tests and status: what the filter refused. */
  readonly dropped = { clipboard: 0, notInFront: 0, notAllowed: 0 };
  /** Keys delivered to each cage (training drills read it: the trusted side's count). */
  private readonly keys = new KeyPressCounter();
  private lastMessageAt = 0;

  constructor(private readonly options: VncGatewayOptions) {
    this.highWaterMark = options.highWaterMark ?? 4 * 1024 * 1024;
    this.maxViewers = options.maxViewersPerCage ?? 4;
    this.updateHoldMs = options.updateHoldMs ?? 16;
    // When a cage leaves the front (or a trusted surface takes the keyboard), release whatever
    // keys its viewer still holds down in it: no modifier stays stuck in a cage.
    options.focus.on('change', (_front, previous) => this.releaseHeldKeys((level) => level === previous));
    options.focus.on('suspend', () => this.releaseHeldKeys(() => true));
    options.focus.on('change', (front) => this.bridges.forEach((b) => b.level === front && b.cameToFront()));
  }

  private releaseHeldKeys(which: (level: string) => boolean): void {
    for (const b of this.bridges) {
      if (!which(b.level)) continue;
      const release = b.filter.releaseHeldKeys();
      if (release) b.cage.write(release);
    }
  }

  /** Key presses (modifiers alone aside) delivered to that cage since start: read twice, subtract. */
  keyPresses(level: string): number {
    return this.keys.total(level);
  }

  /** Called from the HTTP server's 'upgrade' event for requests on VNC_PATH. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let level = '';
    let ticket = '';
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      level = url.searchParams.get('level') ?? '';
      ticket = url.searchParams.get('ticket') ?? '';
    } catch {
      return refuse(socket, 403, 'malformed address');
    }
    if (this.options.admit) return void this.admitHanded(req, socket, head, level, ticket);
    let session: string;
    try {
      session = this.options.tickets.redeem(ticket, level).session;
    } catch (err) {
      return refuse(socket, 403, (err as Error).message);
    }
    const refusal = this.options.refusal?.();
    if (refusal) return refuse(socket, 403, refusal);
    const endpoint = this.options.endpointOf(level);
    if (!endpoint) return refuse(socket, 503, `cage "${level}" is not running`);
    if ([...this.bridges].filter((b) => b.level === level).length >= this.maxViewers) {
      return refuse(socket, 429, `too many viewers for cage "${level}"`);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.bridge(ws, level, session, { endpoint }));
  }

  /** The browser part's admission: the root part checks and connects; the cage's socket arrives as a handle. */
  private async admitHanded(req: IncomingMessage, socket: Duplex, head: Buffer, level: string, ticket: string): Promise<void> {
    let admission: GatewayAdmission;
    try {
      admission = await this.options.admit!(level, ticket);
    } catch (err) {
      return refuse(socket, 503, (err as Error).message);
    }
    if ('refused' in admission) return refuse(socket, admission.refused.status, admission.refused.reason);
    const drop = () => 'handle' in admission && (admission.handle as { close?: () => void }).close?.();
    if (socket.destroyed) return void drop();
    if ([...this.bridges].filter((b) => b.level === level).length >= this.maxViewers) {
      drop();
      return refuse(socket, 429, `too many viewers for cage "${level}"`);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if ('handle' in admission) return this.bridge(ws, level, admission.session, { handle: admission.handle });
      ws.close(admission.close.code, admission.close.reason.slice(0, 120));
    });
  }

  /** When a viewer last sent anything (Date.now()), 0 before any: someone is using a cage. */
  get lastViewerMessageAt(): number {
    return this.lastMessageAt;
  }

  /**
   * A gateway built from this one's options — so the same code paths and, for V8, the same object
   * shapes — that serves only `endpoint`, with `level` in front of a focus of its own, its own
   * tickets, no journal, no viewers list and no peer check. For gatewayWarmUp.ts alone.
   */
  privateTwin(level: string, endpoint: NetConnectOpts, tickets: TicketRegistry): VncGateway {
    const options: VncGatewayOptions = { ...this.options, tickets, focus: new FocusState([level], level), endpointOf: () => endpoint };
    // Emptied, not deleted: the options keep their shape, and the relay's optimised code its fit.
    for (const key of ['verifyPeerOf', 'journal', 'onViewers', 'refusal', 'admit', 'onKeys'] as const) if (key in options) options[key] = undefined;
    return new VncGateway(options);
  }

  /** Every open viewer, by cage and shell session. */
  viewers(): ViewerInfo[] {
    return [...this.bridges].map((b) => ({ level: b.level, session: b.session }));
  }

  /** Closes every viewer (the workstation locked): nothing of any cage stays on screen. */
  disconnectAll(reason: string): void {
    for (const b of [...this.bridges]) b.close(4003, reason);
  }

  close(): void {
    for (const b of this.bridges) {
      b.ws.terminate();
      b.cage.destroy();
    }
    this.bridges.clear();
    this.wss.close();
  }

  /** Journals a connection event; a refusal's record failing must not hide the refusal itself. */
  private record(kind: 'vnc.connect' | 'vnc.refused', fields: Record<string, string>): void {
    if (!this.options.journal) return;
    if (kind === 'vnc.refused') {
      try {
        this.options.journal.append(kind, 'supervisor', fields);
      } catch {
        /* refused all the same */
      }
      return;
    }
    this.options.journal.append(kind, 'supervisor', fields);
  }

  private bridge(ws: WebSocket, level: string, session: string, source: { endpoint: NetConnectOpts } | { handle: object }): void {
    // cage → viewer: untouched, paused while the viewer is slow or the cage is past its byte
    // budget. Reads go straight from the socket handle into this viewer's ring, sized to the
    // traffic (no stream machinery on the hot path, no garbage per read), each read framed in
    // place and written to the viewer's socket in one write (wsFrame.ts); the viewer socket's own
    // buffer is watched, and its 'drain' resumes the cage. The reads of one framebuffer update
    // leave as one message once its last rectangle has come (rfbUpdateTracker.ts): the viewer
    // shows nothing of it before, and each message costs the browser and the viewer a hop.
    const sizer = new ReadSizer();
    const ring = new ReadRing(undefined, FRAME_HEADER_ROOM);
    const released = () => ring.release();
    const front = this.options.viewerBudget === undefined ? DEFAULT_VIEWER_BUDGET : this.options.viewerBudget;
    const back = (this.options.backViewerBudget === undefined ? DEFAULT_BACK_VIEWER_BUDGET : this.options.backViewerBudget) ?? front;
    const budget = front && back ? new ByteBudget(() => (this.options.focus.isInFront(level) ? front : back)) : null;
    let budgetTimer: NodeJS.Timeout | null = null;
    const resumeWhenDrained = () => {
      if (ws.bufferedAmount <= this.highWaterMark) cage.resume();
      else viewerSocket.once('drain', () => cage.resume());
    };
    const toViewer = (bytes: number, buf: Uint8Array): boolean => {
      sizer.filled(bytes);
      // Closing: ws would drop the chunk, and its release could come before older chunks' writes.
      if (ws.readyState !== ws.OPEN) return true;
      ring.taken(bytes);
      const wait = budget?.spend(bytes) ?? 0;
      hold.read(Buffer.from(buf.buffer, buf.byteOffset, bytes), wait > 0);
      if (wait > 0) {
        budgetTimer = setTimeout(() => ((budgetTimer = null), resumeWhenDrained()), wait);
        return false; // pauses the cage socket until the budget has refilled
      }
      if (ws.bufferedAmount <= this.highWaterMark) return true;
      viewerSocket.once('drain', () => cage.resume());
      return false; // pauses the cage socket
    };
    const onread = { buffer: () => ring.next(sizer.currentBytes), callback: toViewer };
    // A handed socket was connected, checked and journaled by the root part: it is the cage's.
    const cage =
      'handle' in source
        ? new Socket({ handle: source.handle, readable: true, writable: true, onread } as unknown as ConstructorParameters<typeof Socket>[0])
        : connect({ ...source.endpoint, onread } as NetConnectOpts);
    const viewerSocket = (ws as unknown as { _socket: Duplex })._socket;
    const hold = new UpdateHold(viewerSocket, () => ws.readyState === ws.OPEN, released, this.updateHoldMs, MAX_HELD_BYTES);
    // Nothing from the viewer moves until the cage's end is known to be the cage.
    if ('endpoint' in source) ws.pause();
    const verifyPeer = this.options.verifyPeerOf?.(level);
    cage.once('connect', () => {
      try {
        verifyPeer?.(cage);
      } catch (err) {
        const reason = (err as Error).message;
        this.options.log?.('viewer refused: the cage socket is not the cage', { level });
        this.record('vnc.refused', { level, reason });
        return close(4001, `cage unreachable: ${reason}`);
      }
      try {
        this.record('vnc.connect', { level, session });
      } catch (err) {
        return close(1011, (err as Error).message);
      }
      ws.resume();
    });
    const filter = new RfbClientFilter({
      inputAllowed: () => this.options.focus.isInFront(level),
      keyFilter: (keysym, down, scancode) => {
        if (this.options.reservedKey?.(keysym, scancode)) return false;
        const before = this.keys.total(level);
        this.keys.delivered(level, keysym, down);
        if (this.options.onKeys && this.keys.total(level) !== before) this.options.onKeys(level, this.keys.total(level));
        return true;
      },
      onDrop: (_type, reason) => {
        if (reason === 'clipboard') this.dropped.clipboard++;
        else if (reason === 'not-in-front') this.dropped.notInFront++;
        else this.dropped.notAllowed++;
      },
    });
    let closed = false;
    const close = (code: number, reason: string) => {
      if (closed) return;
      closed = true;
      if (budgetTimer) clearTimeout(budgetTimer);
      hold.stop();
      this.bridges.delete(bridge);
      this.options.onViewers?.(this.viewers());
      cage.destroy();
      ws.resume(); // a paused viewer would never read the closing handshake's answer
      if (ws.readyState === ws.OPEN) ws.close(code, reason.slice(0, 120));
      else ws.terminate();
    };
    const cameToFront = () => {
      if (!budgetTimer || closed) return;
      clearTimeout(budgetTimer);
      budgetTimer = null;
      resumeWhenDrained();
    };
    const bridge: Bridge = { level, session, ws, cage, filter, close, cameToFront };
    this.bridges.add(bridge);
    this.options.onViewers?.(this.viewers());

    cage.on('error', (err) => close(1011, `cage connection failed: ${err.message}`));
    cage.on('close', () => close(1000, 'cage closed the connection'));
    if ('handle' in source) cage.resume(); // already connected: reading starts now

    // viewer → cage: filtered, paused while the cage is slow.
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.lastMessageAt = Date.now();
      if (!isBinary) return close(1003, 'text frames are not RFB');
      let slices: Buffer[];
      try {
        slices = filter.push(data);
      } catch (err) {
        const code = err instanceof CloisonError ? err.code : 'INTERNAL';
        this.options.log?.('viewer closed by RFB filter', { level, code, reason: (err as Error).message });
        return close(1008, `${code}: ${(err as Error).message}`);
      }
      let ok = true;
      for (const s of slices) ok = cage.write(s) && ok;
      if (!ok) {
        ws.pause();
        cage.once('drain', () => ws.resume());
      }
    });
    ws.on('close', () => close(1000, 'viewer closed'));
    ws.on('error', () => close(1011, 'viewer error'));
  }
}

function refuse(socket: Duplex, status: number, reason: string): void {
  const text = reason.replace(/[\r\n]/g, ' ');
  socket.end(`HTTP/1.1 ${status} ${statusText(status)}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}

function statusText(status: number): string {
  return { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' }[status] ?? 'Error';
}

export { refuse as refuseUpgrade };
