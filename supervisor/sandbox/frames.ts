/**
 * Length-prefixed JSON frames, the wire format of the cage manager and of the unprivileged parts'
 * channel (partChannel.ts): a 4-byte big-endian length, then that many bytes of UTF-8 JSON. The
 * length is checked against the limit before a single byte of the body is held, so a peer that
 * announces 4 GiB costs the root part 4 bytes, not 4 GiB.
 *
 * The reader is incremental: bytes split anywhere (in the prefix, in the body) resume on the next
 * chunk. A frame that is over the limit, empty, not UTF-8 or not JSON is a FrameError, and the
 * connection is over (the stream cannot be trusted to be in step any more).
 */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
const PREFIX = 4;

export class FrameError extends Error {
  constructor(
    readonly reason: 'too-large' | 'empty' | 'not-json',
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

export function encodeFrame(value: unknown, maxBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  if (body.length > maxBytes) throw new FrameError('too-large', `frame of ${body.length} bytes over the ${maxBytes}-byte limit`);
  const prefix = Buffer.alloc(PREFIX);
  prefix.writeUInt32BE(body.length);
  return Buffer.concat([prefix, body]);
}

/**
 * Chunks are kept as they came and joined once, when the whole frame is held: a peer writing one
 * byte at a time costs one copy of the frame, not one copy of all that is held per byte.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private held = 0;
  /** The body length announced by the prefix already read, or null between frames. */
  private announced: number | null = null;
  private failed: FrameError | null = null;

  constructor(private readonly maxBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** The whole frames these bytes complete, parsed; throws FrameError (and keeps failing) on a bad one. */
  push(bytes: Buffer): unknown[] {
    if (this.failed) throw this.failed;
    if (bytes.length > 0) {
      this.chunks.push(bytes);
      this.held += bytes.length;
    }
    const out: unknown[] = [];
    for (;;) {
      if (this.announced === null) {
        if (this.held < PREFIX) return out;
        const length = this.take(PREFIX).readUInt32BE(0);
        if (length === 0) return this.fail(new FrameError('empty', 'empty frame'));
        if (length > this.maxBytes) return this.fail(new FrameError('too-large', `frame of ${length} bytes announced, over the ${this.maxBytes}-byte limit`));
        this.announced = length;
      }
      if (this.held < this.announced) return out;
      const body = this.take(this.announced);
      this.announced = null;
      try {
        out.push(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body)));
      } catch {
        return this.fail(new FrameError('not-json', 'frame is not UTF-8 JSON'));
      }
    }
  }

  private fail(err: FrameError): never {
    this.failed = err;
    this.chunks = [];
    this.held = 0;
    throw err;
  }

  /** The first n held bytes (n <= held), removed from what is held; copied only when split. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.held -= n;
      return first.subarray(0, n);
    }
    const parts: Buffer[] = [];
    let need = n;
    let whole = 0;
    while (need > 0) {
      const chunk = this.chunks[whole]!;
      if (chunk.length <= need) {
        parts.push(chunk);
        need -= chunk.length;
        whole++;
      } else {
        parts.push(chunk.subarray(0, need));
        this.chunks[whole] = chunk.subarray(need);
        need = 0;
      }
    }
    this.chunks.splice(0, whole);
    this.held -= n;
    return Buffer.concat(parts, n);
  }
}
