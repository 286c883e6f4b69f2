/**
 * Where the cage → viewer reads land: one ring buffer per viewer, reused, rather than a fresh
 * buffer per read. A fresh 64–256 KiB buffer per read is garbage as soon as it is sent: in a
 * browser part whose V8 heap is sized from its 1 GiB control group, the collector then took half
 * the gateway's CPU (bench/RESULTS.md, "Is gateway-split counting websockify's CPU right?").
 *
 * A chunk handed to the viewer's socket stays the viewer's until its write completes: the ring
 * never hands out bytes still held (each send's completion releases the oldest chunk; a socket
 * completes its writes in order). When the ring is full the read gets a fresh buffer, as before.
 * One ring per viewer: no byte of one cage's screen ever sits in a buffer another viewer reads.
 * `headroom` bytes before each read are the chunk's too, for its WebSocket frame header
 * (wsFrame.ts): header and bytes then go to the viewer as one buffer, in one write.
 */
export const DEFAULT_RING_BYTES = 1024 * 1024;
/** Below this much contiguous room (or the wanted size, if smaller) a read gets a fresh buffer. */
const MIN_ROOM = 16 * 1024;

export class ReadRing {
  private ring: Buffer | null = null;
  /** Where the next read goes. */
  private head = 0;
  /** Ring bytes handed out and not yet released, the gaps skipped to wrap included. */
  private used = 0;
  /** Per chunk handed out, oldest first: the ring bytes it holds (0 for a fresh buffer). */
  private readonly held: number[] = [];
  /** The read in progress: where it starts, the bytes skipped at the ring's end to wrap, or fresh. */
  private start = 0;
  private gap = 0;
  private fresh = false;

  constructor(
    private readonly ringBytes = DEFAULT_RING_BYTES,
    private readonly headroom = 0,
  ) {}

  /** The buffer for the next read, at most `want` bytes, with `headroom` bytes of its own before it. */
  next(want: number): Buffer {
    const size = this.ringBytes;
    const headroom = this.headroom;
    const need = want + headroom;
    const ring = (this.ring ??= Buffer.allocUnsafe(size));
    if (this.used === 0) this.head = 0;
    const tail = (this.head - this.used + size) % size; // the oldest byte still held
    this.start = this.head;
    this.gap = 0;
    let room: number;
    if (this.used === 0) room = size;
    else if (tail < this.head) {
      room = size - this.head;
      // Too little left at the end: wrap to the start when that holds more.
      if (room < need && tail > room) {
        this.gap = room;
        this.start = 0;
        room = tail;
      }
    } else room = tail > this.head ? tail - this.head : 0; // equal and used: full
    this.fresh = room - headroom < Math.min(want, MIN_ROOM);
    if (this.fresh) return Buffer.allocUnsafe(need).subarray(headroom);
    return ring.subarray(this.start + headroom, this.start + Math.min(room, need));
  }

  /** The last buffer from next() got `bytes` and is handed to the viewer: held until release(). */
  taken(bytes: number): void {
    if (this.fresh) return void this.held.push(0);
    const holds = this.gap + this.headroom + bytes;
    this.held.push(holds);
    this.used += holds;
    this.head = this.start + this.headroom + bytes;
    if (this.head === this.ringBytes) this.head = 0;
  }

  /** The oldest chunk handed out is written (or will never be): its bytes may be read into again. */
  release(): void {
    this.used -= this.held.shift() ?? 0;
  }

  /** Chunks handed out and not yet released (tests). */
  get chunksHeld(): number {
    return this.held.length;
  }
}
