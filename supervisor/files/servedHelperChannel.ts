/**
 * The part's end of a serving file helper's channel (fileHelper.mjs `serve`): requests as JSON
 * lines, each with an id, answered by `{id,out}` (base64 of the mode's output, in the order
 * written) and one `{id,exit,stderr}`; a write announces its size, its data follows as
 * `{id,chunk}` lines (the helper reserves the size at once, and refuses a byte more), and its
 * commit goes as `{id,commit}`. The helper runs as a cage's uid over that cage's home: what it says is
 * read with a bound (a line longer than any the helper writes ends the channel), and a line that
 * is not an answer ends it too. The channel closed, every request still running ends as failed.
 */
import type { Socket } from 'node:net';

/** Longer than any answer line the helper writes (base64 of a pipe's chunk, or an exit with 2000 characters of stderr). */
const MAX_ANSWER_LINE = 1024 * 1024;

export interface HelperListener {
  /** A chunk of the mode's output; false: the reader is full, the channel pauses until `resume`. */
  out(chunk: Buffer): boolean;
  exit(code: number, stderr: string): void;
}

export const CHANNEL_CLOSED = 'the file helper\'s channel closed';

export class ServedHelperChannel {
  private nextId = 1;
  private readonly running = new Map<number, HelperListener>();
  private buffered = '';
  private ended = false;
  private readonly closeListeners: Array<() => void> = [];

  constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.received(d));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.closed());
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  onClose(listener: () => void): void {
    if (this.ended) listener();
    else this.closeListeners.push(listener);
  }

  /** Starts a mode; `size` only for a write (what its chunks will add up to). Returns the request's id. */
  request(mode: string, args: string[], listener: HelperListener, size?: number): number {
    const id = this.nextId++;
    if (this.ended) {
      listener.exit(1, CHANNEL_CLOSED);
      return id;
    }
    this.running.set(id, listener);
    this.socket.write(JSON.stringify({ id, mode, args, ...(size !== undefined ? { size } : {}) }) + '\n');
    return id;
  }

  /** Whether a request still runs (no exit yet). */
  runs(id: number): boolean {
    return this.running.has(id);
  }

  /** A piece of a write's data; resolves once the channel takes more (its buffer drained). */
  chunk(id: number, bytes: Buffer): Promise<void> {
    if (this.ended) return Promise.resolve();
    if (this.socket.write(JSON.stringify({ id, chunk: bytes.toString('base64') }) + '\n')) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** A write's decision: link its staged copy (true) or drop it. The helper takes the first only. */
  commit(id: number, link: boolean): void {
    if (!this.ended) this.socket.write(JSON.stringify({ id, commit: link }) + '\n');
  }

  /** Reading again after a full reader drained. */
  resume(): void {
    if (!this.ended) this.socket.resume();
  }

  pause(): void {
    this.socket.pause();
  }

  /** Closing the channel ends the helper, and every mode it still runs (killed). */
  close(): void {
    this.socket.destroy();
  }

  private received(text: string): void {
    this.buffered += text;
    let nl;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      if (!this.answer(line)) return this.close();
    }
    if (this.buffered.length > MAX_ANSWER_LINE) this.close();
  }

  /** One answer line; false when it is not one the helper writes. */
  private answer(line: string): boolean {
    let m: unknown;
    try {
      m = JSON.parse(line);
    } catch {
      return false;
    }
    if (typeof m !== 'object' || m === null) return false;
    const { id, out, exit, stderr } = m as { id?: unknown; out?: unknown; exit?: unknown; stderr?: unknown };
    // `id: null`: the helper could not read a request of ours — none of ours is malformed.
    if (typeof id !== 'number') return false;
    const listener = this.running.get(id);
    if (!listener) return true; // a request already ended (its listener gone): nothing to tell
    if (typeof out === 'string') {
      if (!listener.out(Buffer.from(out, 'base64'))) this.pause();
      return true;
    }
    if (typeof exit === 'number') {
      this.running.delete(id);
      listener.exit(exit, typeof stderr === 'string' ? stderr : '');
      return true;
    }
    return false;
  }

  private closed(): void {
    if (this.ended) return;
    this.ended = true;
    const left = [...this.running.values()];
    this.running.clear();
    for (const listener of left) listener.exit(1, CHANNEL_CLOSED);
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
