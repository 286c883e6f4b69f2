/**
 * A connection to the level's proxy made ahead of the cage's. When a connection comes, the proxy's
 * waiting worker takes it and its controller forks the next waiting worker (which loads and
 * initialises the module): made when the cage connects, all of that fell on the application's
 * first call — its "module loaded to C_Initialize done" 12.0 ms through the guard against 5.5
 * through Caml Crush alone (bench/RESULTS.md, 2026-12-07). Made ahead, the cage's first call finds
 * its worker waiting. The worker's view of the token is still the application's: it is checked
 * against the token's files at the application's C_Initialize (native/workerModuleInit.c).
 *
 * The next one is made once the connection it went to has ended, or a while after it was taken —
 * not at once: the worker it wakes would take the two cores from the one being served. One made
 * ahead that the proxy closed meanwhile (its restart) is found so at its taking (the proxy never
 * speaks first: anything readable on it is its end) and a fresh one made instead.
 */
import type { Socket } from 'node:net';
import koffi from 'koffi';

/** How long after a connection was taken the next is made, if that connection still runs. */
const NEXT_AFTER_MS = 2000;
const POLLIN = 0x1;
const POLLRDHUP = 0x2000;

type Poll = (fds: Buffer, count: number, timeoutMs: number) => number;
let poll: Poll | null = null;

/** Whether anything (its end, an error, bytes) waits on `socket`'s descriptor; true when it cannot be told. */
function spokenOrClosed(socket: Socket): boolean {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return true;
  poll ??= koffi.load('libc.so.6').func('int poll(void *, uint64, int)') as unknown as Poll;
  const entry = Buffer.alloc(8);
  entry.writeInt32LE(fd, 0);
  entry.writeInt16LE(POLLIN | POLLRDHUP, 4);
  return poll(entry, 1, 0) !== 0;
}

export class SpareProxyConnection {
  private ready: Socket | Promise<Socket> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  /** `ahead` false: every connection made when taken, none ahead (the benchmark's reference). */
  constructor(
    private readonly connect: () => Socket | Promise<Socket>,
    private readonly ahead = true,
  ) {}

  /** Makes the first one (the guard listening). */
  start(): void {
    this.prepare();
  }

  /** A connection for a cage: the one made ahead if it is still unspoken and open, else a new one. */
  take(): Socket | Promise<Socket> {
    if (!this.ahead) return this.connect();
    const ready = this.ready;
    this.ready = null;
    this.schedule();
    if (ready === null) return this.connect();
    if (ready instanceof Promise) return ready.then((socket) => (this.usable(socket) ? socket : (socket.destroy(), this.connect())), () => this.connect());
    return this.usable(ready) ? ready : (ready.destroy(), this.connect());
  }

  /** A connection the guard relayed has ended: the next one is made now. */
  connectionEnded(): void {
    this.prepare();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ready = this.ready;
    this.ready = null;
    if (ready instanceof Promise) ready.then((socket) => socket.destroy(), () => {});
    else ready?.destroy();
  }

  private usable(socket: Socket): boolean {
    return !socket.destroyed && socket.readableLength === 0 && !spokenOrClosed(socket);
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.prepare();
    }, NEXT_AFTER_MS);
    this.timer.unref();
  }

  private prepare(): void {
    if (!this.ahead || this.stopped || this.ready !== null) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    try {
      const made = this.connect();
      // A socket that fails later (the proxy gone) is found at its taking; a refused promise is a fresh connect then.
      if (made instanceof Promise) made.catch(() => {});
      else made.on('error', () => {});
      this.ready = made;
    } catch {
      this.ready = null;
    }
  }
}
