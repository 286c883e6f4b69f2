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
 * own questions after a refusal (cardObjectNames.ts), whose answers the cage never sees. Under
 * `pin: trusted` (`wholeRecords`) records go on whole, one at a time, and a login's PIN is the
 * trusted dialog's (trustedPinLogin.ts). Otherwise each connection, once made, is handed to the
 * relay program (cardRecordRelay.ts), which bounds and journals the same way without Node's work
 * per hop; this process relays only when that program is not there or cannot run.
 */
import { chmodSync, chownSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { connectRefusingDescriptors, refusePassedDescriptorsOrSay } from '../system/refusePassedDescriptors';
import { InjectedCalls } from './cardObjectNames';
import { CardRecordRelay, type RelayedConnection } from './cardRecordRelay';
import { JOURNAL_PROCEDURES, LOGIN_PROCEDURE, RECORD_HEAD_BYTES } from './cardReplyJournal';
import { SpareProxyConnection } from './spareProxyConnection';
import type { CallOutcome } from './trustedPinLogin';

/** A connection's records taken whole, both ways (trustedPinLogin.ts's TrustedPinLogin). */
export interface WholeRecordHandler {
  call(body: Buffer): Promise<CallOutcome>;
  reply(body: Buffer): Buffer;
}

export interface RecordGuardOptions {
  /** The socket the cage connects to (made here: 0666 in the cage's folder). */
  listen: string;
  /**
   * The level's proxy socket; or, in the cloison part, a connection to the proxy asked of the cage
   * manager for each cage connection (card.socket: the proxy's folder is its uid's alone).
   */
  target: string | (() => Promise<Socket>);
  /** Owner of the listening socket (the folder still keeps every other uid out). */
  owner?: { uid: number; gid: number };
  /** Largest record a cage may send (bytes, all fragments together). */
  maxRecordBytes?: number;
  /** Whether a proxy connection is made ahead of each cage's (spareProxyConnection.ts); default false. */
  connectAhead?: boolean;
  /** Connections at once; more are closed at once. */
  maxConnections?: number;
  /** 'pipelined': more calls awaiting their replies than followed, or a call's number reused while it waits (CallNumbers). */
  refused: (reason: 'oversize' | 'too-many-connections' | 'pipelined') => void;
  /**
   * Per connection: what reads the first bytes of each record, both ways (the journal's view).
   * `ask` slips a call of the supervisor's into the connection and resolves with its reply, which
   * the cage never sees (cardObjectNames.ts: what object a refused handle is).
   */
  watch?: (ask: (record: Buffer) => Promise<Buffer | null>) => { call: (head: Buffer) => void; reply: (head: Buffer) => void };
  /** Per connection (its cage end given): records relayed whole through this handler, one call at a time. */
  wholeRecords?: (cage: Socket) => WholeRecordHandler;
  /**
   * The relay program (cardRecordRelay.ts) each connection is handed to once made, run as `uid`
   * and `gid` when given; absent, not built, or with `wholeRecords`: relayed in this process.
   */
  relay?: { program: string; uid?: number; gid?: number; gone?: (why: string) => void };
}

export const MAX_RECORD_BYTES = 16 * 2 ** 20;
const MARK = 4;
/** Records of one connection waiting behind a held one (whole-record mode). */
const MAX_QUEUED_RECORDS = 64;
const LAST_FRAGMENT = 0x80000000;

/** Follows record marks through a byte stream; says when a record goes over its bound. */
export class RecordMarks {
  /** Bytes left in the current fragment's body; -1 when a mark is expected. */
  private remaining = -1;
  /** A mark split across chunks: its bytes so far (a mark within one chunk is read in place). */
  private readonly markBytes = Buffer.alloc(MARK);
  private markLength = 0;
  private recordBytes = 0;
  private lastFragment = false;

  /** The record's first bytes: views of the chunks fed (copied only if the record outlives its chunk). */
  private head: Buffer[] = [];
  private headBytes = 0;
  /** head[borrowed...] are views of the chunk being fed. */
  private borrowed = -1;

  /** `onRecord` gets the first `headBytes` bytes of each complete record (fragments joined). */
  constructor(
    private readonly maxRecordBytes: number,
    private readonly onRecord?: (head: Buffer) => void,
    private readonly headLimit = 0,
  ) {}

  /** Between records: a whole record of someone else's may go in here. */
  get atBoundary(): boolean {
    return this.remaining < 0 && this.markLength === 0;
  }

  /**
   * false once the stream announced a record over the bound (the connection must end). Runs for
   * every chunk both ways, so it allocates nothing for a record within one chunk (most calls).
   */
  feed(chunk: Buffer): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining < 0) {
        let mark: number;
        if (this.markLength === 0 && i + MARK <= chunk.length) {
          mark = chunk.readUInt32BE(i);
          i += MARK;
        } else {
          this.markBytes[this.markLength++] = chunk[i++]!;
          if (this.markLength < MARK) continue;
          mark = this.markBytes.readUInt32BE(0);
          this.markLength = 0;
        }
        this.lastFragment = (mark & LAST_FRAGMENT) !== 0;
        this.remaining = mark & ~LAST_FRAGMENT & 0x7fffffff;
        this.recordBytes += this.remaining;
        if (this.recordBytes > this.maxRecordBytes) return false;
        if (this.remaining === 0) this.endFragment();
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - i);
      if (this.headBytes < this.headLimit) {
        if (this.borrowed < 0) this.borrowed = this.head.length;
        const kept = chunk.subarray(i, i + Math.min(take, this.headLimit - this.headBytes));
        this.head.push(kept);
        this.headBytes += kept.length;
      }
      i += take;
      this.remaining -= take;
      if (this.remaining === 0) this.endFragment();
    }
    // A record still open keeps its own copy of its first bytes, not the chunk they came in.
    if (this.borrowed >= 0) for (let k = this.borrowed; k < this.head.length; k++) this.head[k] = Buffer.from(this.head[k]!);
    this.borrowed = -1;
    return true;
  }

  private endFragment(): void {
    this.remaining = -1;
    if (!this.lastFragment) return;
    this.recordBytes = 0;
    if (this.onRecord) this.onRecord(this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head));
    this.head = [];
    this.headBytes = 0;
    this.borrowed = -1;
  }
}

/**
 * Calls awaiting their reply, by number (xid), for the journal's pairing of each reply with its call
 * (native/cardRecordRelay.c's PENDING, the same rule). A PKCS#11 client waits for each reply and
 * numbers its calls; a cage pipelining more, or reusing the number of a call still awaiting its reply,
 * could make the journal take one call's reply for another's (a failed login journaled as a success,
 * or not at all): its connection is ended, nothing of the offending chunk passed on.
 */
export const MAX_AWAITING_CALLS = 8;
export class CallNumbers {
  private readonly waiting = new Set<number>();

  /** A call's first bytes; false: the connection must end. A record too short to number is not followed (the proxy answers it with nothing the journal reads). */
  call(head: Buffer): boolean {
    if (head.length < 4) return true;
    const xid = head.readUInt32BE(0);
    if (this.waiting.has(xid) || this.waiting.size >= MAX_AWAITING_CALLS) return false;
    this.waiting.add(xid);
    return true;
  }

  reply(head: Buffer): void {
    if (head.length >= 4) this.waiting.delete(head.readUInt32BE(0));
  }
}

/** Joins each record's fragments: the bodies of the records completed by a chunk. */
export class WholeRecords {
  private mark: number[] = [];
  private remaining = -1;
  private last = false;
  private parts: Buffer[] = [];

  feed(chunk: Buffer): Buffer[] {
    const done: Buffer[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining < 0) {
        this.mark.push(chunk[i++]!);
        if (this.mark.length < MARK) continue;
        const word = Buffer.from(this.mark).readUInt32BE(0);
        this.mark = [];
        this.last = (word & LAST_FRAGMENT) !== 0;
        this.remaining = word & 0x7fffffff;
      }
      const take = Math.min(this.remaining, chunk.length - i);
      if (take > 0) this.parts.push(Buffer.from(chunk.subarray(i, i + take)));
      i += take;
      this.remaining -= take;
      if (this.remaining === 0) {
        this.remaining = -1;
        if (this.last) {
          done.push(Buffer.concat(this.parts));
          this.parts = [];
        }
      }
    }
    return done;
  }
}

export class RecordGuard {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** The relay program, when connections go to it; and the connections it holds. */
  private native: CardRecordRelay | null = null;
  /** The relay program could not be run: this process relays from then on. */
  private nativeFailed = false;
  private readonly relayed = new Set<RelayedConnection>();
  /** The proxy connection made ahead of the next cage's (spareProxyConnection.ts). */
  private readonly spare: SpareProxyConnection;

  constructor(private readonly options: RecordGuardOptions) {
    const target = options.target;
    this.spare = new SpareProxyConnection(typeof target === 'string' ? () => connectRefusingDescriptors(target) : target, options.connectAhead ?? false);
  }

  async start(): Promise<void> {
    const { listen, owner } = this.options;
    rmSync(listen, { force: true });
    // Nothing read from a cage's connection before it is relayed (the relay program is handed it unread).
    const server = createServer({ pauseOnConnect: true }, (cage) => this.connection(cage));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen, () => resolve());
    });
    // A cage's card client must not pass root a descriptor whose close blocks it (before it may connect).
    refusePassedDescriptorsOrSay(server);
    this.startNativeRelay();
    this.spare.start();
    chmodSync(listen, 0o666);
    if (owner) chownSync(listen, owner.uid, owner.gid);
  }

  /** Stops listening and ends every connection (the proxy's sessions with them). */
  async stop(): Promise<void> {
    this.spare.stop();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const native = this.native;
    this.native = null;
    await native?.stop();
    this.relayed.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.options.listen, { force: true });
  }

  private connection(cage: Socket): void {
    const maxConnections = this.options.maxConnections ?? 8;
    if (this.sockets.size + 2 * this.relayed.size >= maxConnections * 2) {
      cage.destroy();
      this.options.refused('too-many-connections');
      return;
    }
    const taken = this.spare.take();
    if (!(taken instanceof Promise)) return this.relay(cage, taken);
    // Nothing read from the cage until its proxy connection has come (pauseOnConnect).
    this.sockets.add(cage);
    taken.then(
      (proxy) => {
        if (cage.destroyed || !this.server) return void proxy.destroy();
        this.relay(cage, proxy);
      },
      () => {
        cage.destroy();
        this.sockets.delete(cage);
      },
    );
  }

  /** The relay program, unless this process relays (`pin: trusted`, none given or built); started again after it went. */
  private startNativeRelay(): void {
    const relay = this.options.relay;
    if (!relay || this.options.wholeRecords || !this.server || this.nativeFailed || !CardRecordRelay.available(relay.program)) return;
    const native = new CardRecordRelay(relay.program, {
      maxRecordBytes: this.options.maxRecordBytes ?? MAX_RECORD_BYTES,
      login: LOGIN_PROCEDURE,
      watched: JOURNAL_PROCEDURES,
      uid: relay.uid,
      gid: relay.gid,
      gone: (why) => {
        if (this.native === native) this.native = null;
        this.nativeFailed ||= native.failedToStart;
        relay.gone?.(why);
      },
    });
    native.start();
    this.native = native;
  }

  /** The cage's connection and its proxy's to the relay program; false if it could not take them (this process relays them). */
  private handOver(cage: Socket, proxy: Socket): boolean {
    if (!this.native?.running) this.startNativeRelay();
    const native = this.native;
    // Nothing of either may have been read here: the relay program must see every byte.
    if (!native || cage.readableLength > 0 || proxy.readableLength > 0) return false;
    let connection: RelayedConnection | null = null;
    const watch = this.options.watch?.((record) => connection?.ask(record) ?? Promise.resolve(null)) ?? null;
    connection = native.add(cage, proxy, watch, (why) => {
      this.relayed.delete(connection!);
      this.spare.connectionEnded();
      if (why) this.options.refused(why);
    });
    if (!connection) return false;
    this.sockets.delete(cage);
    this.relayed.add(connection);
    return true;
  }

  /** The cage's connection and its proxy's, relayed (the proxy parses the cage's bytes: what it sends back may not carry a descriptor). */
  private relay(cage: Socket, proxy: Socket): void {
    if (this.options.relay && !this.options.wholeRecords && this.handOver(cage, proxy)) return;
    this.sockets.add(cage);
    this.sockets.add(proxy);
    // The supervisor's own calls: only when every call of the cage has had its reply, between records.
    const injected = this.options.watch ? new InjectedCalls(proxy) : null;
    let calls = 0;
    let answered = 0;
    const watch = this.options.watch?.((record) => injected!.ask(record, marks.atBoundary && calls === answered));
    // Each reply paired with its call by number: a cage pipelining or reusing numbers is ended (CallNumbers).
    const numbers = new CallNumbers();
    let pipelined = false;
    const onCall = (head: Buffer) => {
      if (pipelined) return;
      if (!numbers.call(head)) {
        pipelined = true;
        return;
      }
      calls++;
      watch!.call(head);
    };
    const marks: RecordMarks = new RecordMarks(this.options.maxRecordBytes ?? MAX_RECORD_BYTES, watch ? onCall : undefined, RECORD_HEAD_BYTES);
    // The proxy's replies: followed only to read their first bytes (no bound: the proxy is ours).
    const replies = watch ? new RecordMarks(Number.MAX_SAFE_INTEGER, (head) => (answered++, numbers.reply(head), watch.reply(head)), RECORD_HEAD_BYTES) : null;
    const end = () => {
      injected?.close();
      cage.destroy();
      proxy.destroy();
      this.sockets.delete(cage);
      this.sockets.delete(proxy);
      this.spare.connectionEnded();
    };
    const whole = this.options.wholeRecords?.(cage);
    const cageRecords = whole ? new WholeRecords() : null;
    const proxyRecords = whole ? new WholeRecords() : null;
    /** Whole-record mode: the cage's records, each handled once the one before has gone on. */
    let queue = Promise.resolve();
    let queued = 0;
    const toCage = (record: Buffer) => {
      replies?.feed(record);
      if (!cage.destroyed && !cage.write(record)) proxy.pause();
    };
    cage.on('data', (chunk: Buffer) => {
      if (!marks.feed(chunk) || pipelined) {
        this.options.refused(pipelined ? 'pipelined' : 'oversize');
        end();
        return;
      }
      if (!whole) {
        if (!proxy.write(chunk)) cage.pause();
        return;
      }
      for (const body of cageRecords!.feed(chunk)) {
        // A client waits for each reply: a cage piling records up behind a held login is ended.
        if (++queued > MAX_QUEUED_RECORDS) {
          this.options.refused('oversize');
          return end();
        }
        queue = queue.then(async () => {
          queued -= 1;
          if (cage.destroyed) return; // what a cage sent before it went is not asked or forwarded
          // The cage waits for each reply; one held for the dialog holds what follows it too.
          const outcome = await whole.call(body).catch(() => null);
          if (outcome === null) return end();
          if ('answer' in outcome) return void (toCage(outcome.answer), readCageAgain());
          const record = outcome.forward;
          // The cage gone while the user typed: the PIN goes nowhere.
          if (proxy.destroyed) return void (outcome.secret && record.fill(0), end());
          // A PIN's bytes are zeroed once the socket has them.
          proxy.write(record, () => outcome.secret && record.fill(0));
          readCageAgain();
        });
      }
      // Nothing more is read from the cage while any of its records waits here or on the proxy's
      // socket: a cage that sends without reading the replies (the proxy then stops reading us)
      // would otherwise pile its records up in the supervisor without bound.
      if (queued > 0 || proxy.writableNeedDrain) cage.pause();
    });
    /** Whole-record mode: the cage read again once its records have all gone on and the proxy took them. */
    const readCageAgain = () => {
      if (queued === 0 && !proxy.writableNeedDrain) cage.resume();
    };
    proxy.on('drain', () => (whole ? readCageAgain() : cage.resume()));
    proxy.on('data', (data: Buffer) => {
      const chunk = injected?.taking ? injected.take(data) : data;
      if (chunk.length === 0) return;
      if (whole) {
        for (const body of proxyRecords!.feed(chunk)) toCage(whole.reply(body));
        return;
      }
      replies?.feed(chunk);
      if (!cage.write(chunk)) proxy.pause();
    });
    cage.on('drain', () => proxy.resume());
    for (const s of [cage, proxy]) {
      s.on('error', end);
      s.on('close', end);
    }
    proxy.resume();
    cage.resume();
  }
}
