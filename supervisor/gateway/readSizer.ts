/**
 * Read buffers for the cage → viewer direction, sized to the traffic: a framebuffer stream gets
 * reads of up to 256 KiB (fewer system calls and WebSocket frames per GiB than 64 KiB reads,
 * while noVNC, which gets a message only once it is whole, still starts decoding early), small messages
 * get small buffers. The gateway reads into its ring (readRing.ts) at the size given here;
 * next() gives a fresh buffer per read, for a reader without a ring.
 */
export interface ReadSizerOptions {
  minBytes?: number;
  maxBytes?: number;
}

export class ReadSizer {
  private size: number;
  private readonly min: number;
  private readonly max: number;

  constructor(options: ReadSizerOptions = {}) {
    this.min = options.minBytes ?? 16 * 1024;
    this.max = options.maxBytes ?? 256 * 1024;
    this.size = 64 * 1024;
  }

  /** The buffer for the next read. */
  next(): Buffer {
    return Buffer.allocUnsafe(this.size);
  }

  /** A read filled `bytes` of the last buffer: grow when it was full, shrink when mostly empty. */
  filled(bytes: number): void {
    if (bytes >= this.size) this.size = Math.min(this.size * 2, this.max);
    else if (bytes < this.size / 8) this.size = Math.max(this.size / 2, this.min);
  }

  get currentBytes(): number {
    return this.size;
  }
}
