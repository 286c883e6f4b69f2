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

export class FrameReader {
  private chunks: Buffer[] = [];
  private held = 0;
  private failed: FrameError | null = null;

  constructor(private readonly maxBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** The whole frames these bytes complete, parsed; throws FrameError (and keeps failing) on a bad one. */
  push(bytes: Buffer): unknown[] {
    if (this.failed) throw this.failed;
    this.chunks.push(bytes);
    this.held += bytes.length;
    const out: unknown[] = [];
    for (;;) {
      if (this.held < PREFIX) return out;
      const head = this.take(PREFIX, false);
      const length = head.readUInt32BE(0);
      if (length === 0) return this.fail(new FrameError('empty', 'empty frame'));
      if (length > this.maxBytes) return this.fail(new FrameError('too-large', `frame of ${length} bytes announced, over the ${this.maxBytes}-byte limit`));
      if (this.held < PREFIX + length) return out;
      this.take(PREFIX, true);
      const body = this.take(length, true);
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

  /** The first n held bytes, removed from what is held when `consume`. */
  private take(n: number, consume: boolean): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const head = all.subarray(0, n);
    if (consume) {
      const rest = all.subarray(n);
      this.chunks = rest.length ? [rest] : [];
      this.held = rest.length;
    } else this.chunks = [all];
    return head;
  }
}
