/**
 * The card socket's guard: the socket a cage connects to is this relay's, which passes each
 * connection on to the level's proxy after checking one thing the proxy does not — the length of
 * each ONC RPC record (RFC 5531 record marking: a 4-byte mark, last-fragment bit and 31-bit
 * length). Caml Crush's server believes an announced 2 GiB record, buffers it until its address
 * space runs out, and then sits on the connection with the memory held; here a fragment or record
 * over its bound ends that one connection before a byte of it reaches the proxy.
 *
 * Trust rule: only record marks are parsed here (4 bytes at a time, lengths bounded), and the first
 * bytes of each record copied out for the journal (cardReplyJournal.ts); everything is passed whole
 * to the proxy, whose OCaml decoder and filter judge it. The only bytes added are the supervisor's
 * own questions after a refusal (cardObjectNames.ts), whose answers the cage never sees.
 */
import { chmodSync, chownSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { InjectedCalls } from './cardObjectNames';
import { RECORD_HEAD_BYTES } from './cardReplyJournal';

export interface RecordGuardOptions {
  /** The socket the cage connects to (made here: 0666 in the cage's folder). */
  listen: string;
  /** The level's proxy socket. */
  target: string;
  /** Owner of the listening socket (the folder still keeps every other uid out). */
  owner?: { uid: number; gid: number };
  /** Largest record a cage may send (bytes, all fragments together). */
  maxRecordBytes?: number;
  /** Connections at once; more are closed at once. */
  maxConnections?: number;
  refused: (reason: 'oversize' | 'too-many-connections') => void;
  /**
   * Per connection: what reads the first bytes of each record, both ways (the journal's view).
   * `ask` slips a call of the supervisor's into the connection and resolves with its reply, which
   * the cage never sees (cardObjectNames.ts: what object a refused handle is).
   */
  watch?: (ask: (record: Buffer) => Promise<Buffer | null>) => { call: (head: Buffer) => void; reply: (head: Buffer) => void };
}

export const MAX_RECORD_BYTES = 16 * 2 ** 20;
const MARK = 4;
const LAST_FRAGMENT = 0x80000000;

/** Follows record marks through a byte stream; says when a record goes over its bound. */
export class RecordMarks {
  /** Bytes left in the current fragment's body; -1 when a mark is expected. */
  private remaining = -1;
  private markBytes: number[] = [];
  private recordBytes = 0;
  private lastFragment = false;

  private head: Buffer[] = [];
  private headBytes = 0;

  /** `onRecord` gets the first `headBytes` bytes of each complete record (fragments joined). */
  constructor(
    private readonly maxRecordBytes: number,
    private readonly onRecord?: (head: Buffer) => void,
    private readonly headLimit = 0,
  ) {}

  /** Between records: a whole record of someone else's may go in here. */
  get atBoundary(): boolean {
    return this.remaining < 0 && this.markBytes.length === 0;
  }

  /** false once the stream announced a record over the bound (the connection must end). */
  feed(chunk: Buffer): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining < 0) {
        this.markBytes.push(chunk[i++]!);
        if (this.markBytes.length < MARK) continue;
        const mark = Buffer.from(this.markBytes).readUInt32BE(0);
        this.markBytes = [];
        this.lastFragment = (mark & LAST_FRAGMENT) !== 0;
        this.remaining = mark & ~LAST_FRAGMENT & 0x7fffffff;
        this.recordBytes += this.remaining;
        if (this.recordBytes > this.maxRecordBytes) return false;
        if (this.remaining === 0) this.endFragment();
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - i);
      if (this.headBytes < this.headLimit) {
        const kept = chunk.subarray(i, i + Math.min(take, this.headLimit - this.headBytes));
        this.head.push(Buffer.from(kept));
        this.headBytes += kept.length;
      }
      i += take;
      this.remaining -= take;
      if (this.remaining === 0) this.endFragment();
    }
    return true;
  }

  private endFragment(): void {
    this.remaining = -1;
    if (!this.lastFragment) return;
    this.recordBytes = 0;
    if (this.onRecord) this.onRecord(Buffer.concat(this.head));
    this.head = [];
    this.headBytes = 0;
  }
}

export class RecordGuard {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: RecordGuardOptions) {}

  async start(): Promise<void> {
    const { listen, owner } = this.options;
    rmSync(listen, { force: true });
    const server = createServer((cage) => this.connection(cage));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen, () => resolve());
    });
    chmodSync(listen, 0o666);
    if (owner) chownSync(listen, owner.uid, owner.gid);
  }

  /** Stops listening and ends every connection (the proxy's sessions with them). */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.options.listen, { force: true });
  }

  private connection(cage: Socket): void {
    const maxConnections = this.options.maxConnections ?? 8;
    if (this.sockets.size >= maxConnections * 2) {
      cage.destroy();
      this.options.refused('too-many-connections');
      return;
    }
    const proxy = createConnection(this.options.target);
    this.sockets.add(cage);
    this.sockets.add(proxy);
    // The supervisor's own calls: only when every call of the cage has had its reply, between records.
    const injected = this.options.watch ? new InjectedCalls(proxy) : null;
    let calls = 0;
    let answered = 0;
    const watch = this.options.watch?.((record) => injected!.ask(record, marks.atBoundary && calls === answered));
    const marks: RecordMarks = new RecordMarks(this.options.maxRecordBytes ?? MAX_RECORD_BYTES, watch ? (head) => (calls++, watch.call(head)) : undefined, RECORD_HEAD_BYTES);
    // The proxy's replies: followed only to read their first bytes (no bound: the proxy is ours).
    const replies = watch ? new RecordMarks(Number.MAX_SAFE_INTEGER, (head) => (answered++, watch.reply(head)), RECORD_HEAD_BYTES) : null;
    const end = () => {
      injected?.close();
      cage.destroy();
      proxy.destroy();
      this.sockets.delete(cage);
      this.sockets.delete(proxy);
    };
    cage.on('data', (chunk: Buffer) => {
      if (!marks.feed(chunk)) {
        this.options.refused('oversize');
        end();
        return;
      }
      if (!proxy.write(chunk)) cage.pause();
    });
    proxy.on('drain', () => cage.resume());
    proxy.on('data', (data: Buffer) => {
      const chunk = injected?.taking ? injected.take(data) : data;
      if (chunk.length === 0) return;
      replies?.feed(chunk);
      if (!cage.write(chunk)) proxy.pause();
    });
    cage.on('drain', () => proxy.resume());
    for (const s of [cage, proxy]) {
      s.on('error', end);
      s.on('close', end);
    }
  }
}
