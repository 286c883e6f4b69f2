/**
 * The cage → viewer reads of one framebuffer update, held until its last rectangle has come and
 * then written as one WebSocket message (one frame header, one writev): TigerVNC 1.12's Xvnc sends
 * each rectangle with a send() of its own on its unix socket, and each message costs the browser's
 * network service and the viewer's renderer a hop, while the viewer shows nothing of an update
 * before its end (bench/RESULTS.md, Firefox scroll). What ends outside an update goes at once: a
 * read that finishes one update and begins the next is cut there. The hold ends, whatever the
 * tracker says, at `maxBytes` or `holdMs` after its first read (rfbUpdateTracker.ts).
 */
import type { Duplex } from 'node:stream';
import { RfbUpdateTracker } from './rfbUpdateTracker';
import { FRAME_HEADER_ROOM, frameInPlace } from './wsFrame';

interface HeldPart {
  bytes: Buffer;
  /** Read at the start of its ring chunk: the frame header may be written in the room before it. */
  room: boolean;
  /** The last part of its ring chunk: its write's completion gives the chunk back to the ring. */
  release: boolean;
}

export class UpdateHold {
  private readonly tracker = new RfbUpdateTracker();
  private readonly held: HeldPart[] = [];
  private heldBytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly viewer: Duplex,
    /** Whether the viewer's WebSocket is still open: a closing one gets nothing more. */
    private readonly open: () => boolean,
    /** Gives the oldest chunk back to the read ring (readRing.ts). */
    private readonly released: () => void,
    private readonly holdMs: number,
    private readonly maxBytes: number,
  ) {}

  /** The read `chunk` (its ring chunk, the frame header's room before it); `now`: send all that is held with it (the cage is paused). */
  read(chunk: Buffer, now: boolean): void {
    const outside = this.tracker.feed(chunk, chunk.length);
    if (outside === chunk.length || now || this.heldBytes + chunk.length >= this.maxBytes) {
      this.held.push({ bytes: chunk, room: true, release: true });
      this.heldBytes += chunk.length;
      return this.send();
    }
    if (outside > 0) {
      this.held.push({ bytes: chunk.subarray(0, outside), room: true, release: false });
      this.heldBytes += outside;
      this.send();
    }
    const rest = chunk.subarray(outside);
    this.held.push({ bytes: rest, room: outside === 0, release: true });
    this.heldBytes += rest.length;
    this.timer ??= setTimeout(() => this.send(), this.holdMs);
  }

  /** Sends what is held, as one message. */
  send(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const held = this.held;
    if (held.length === 0) return;
    if (this.open()) {
      const viewer = this.viewer;
      const several = held.length > 1 || !held[0]!.room;
      if (several) viewer.cork();
      const first = held[0]!;
      if (first.room) viewer.write(frameInPlace(first.bytes, first.bytes.length, this.heldBytes), first.release ? this.released : undefined);
      else {
        // The room before a cut chunk's rest holds the end of the update sent before it.
        viewer.write(frameInPlace(Buffer.allocUnsafe(FRAME_HEADER_ROOM).subarray(FRAME_HEADER_ROOM), 0, this.heldBytes));
        viewer.write(first.bytes, first.release ? this.released : undefined);
      }
      for (let i = 1; i < held.length; i++) viewer.write(held[i]!.bytes, held[i]!.release ? this.released : undefined);
      if (several) viewer.uncork();
    }
    held.length = 0;
    this.heldBytes = 0;
  }

  /** The viewer is gone: nothing more is sent. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.held.length = 0;
    this.heldBytes = 0;
  }
}
