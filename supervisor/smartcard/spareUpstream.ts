/**
 * A level's spare proxy connection, opened ahead of the next cage connection. Every Caml Crush
 * client opens with the same three calls (pkcs11_rpc.x): C_SetupArch (its architecture),
 * C_LoadModule (the alias, "cloison") and C_Initialize. Served on a fresh connection they cost the
 * most of a short application's run: netplex hands the connection to a worker, which then loads
 * the module (dlopen, OpenSSL's configuration) and initialises it (the token's files) while the
 * application waits. The guard makes those three calls itself on a spare connection beforehand,
 * and a cage whose opening calls are these same bytes (its xids aside) gets that connection, with
 * the replies the proxy gave them; the next spare is opened at once.
 *
 * Trust rule: a spare's only calls are the supervisor's own three, fixed here, the same for every
 * connection a level's client makes; a spare serves one cage connection and is closed with it,
 * never given to another, never to another level (each level's guard has its own). A cage whose
 * opening differs in any byte gets a fresh connection, its calls forwarded as sent.
 */
import { endianness } from 'node:os';
import { createConnection, type Socket } from 'node:net';
import { WholeRecords } from './recordGuard';

const LAST_FRAGMENT = 0x80000000;
const C_SETUP_ARCH = 2;
const C_INITIALIZE = 3;
const C_LOAD_MODULE = 70;
/** Caml Crush's client's C_SetupArch argument on a little-endian 64-bit machine (its LITTLE_ENDIAN_64). */
const LITTLE_ENDIAN_64 = 1;
/** A spare closed by the proxy (it restarted, a worker died) is replaced after this long. */
const REOPEN_DELAY_MS = 1_000;
/** The next spare is opened this long after one is taken, if no connection ended before. */
const NEXT_SPARE_DELAY_MS = 2_000;
/** Longer than any of the three calls: a record announcing more is not an opening call. */
export const MAX_OPENING_RECORD_BYTES = 256;

/** A call's body: xid 0, CALL, RPC 2, program 4, version 3, `procedure`, AUTH_NONE twice, then `args`. */
function callBody(procedure: number, args: Buffer): Buffer {
  const header = Buffer.alloc(40);
  [0, 0, 2, 4, 3, procedure, 0, 0, 0, 0].forEach((word, i) => header.writeUInt32BE(word, i * 4));
  return Buffer.concat([header, args]);
}

/**
 * The three opening calls' bodies (xid 0) a client of `alias` on this machine sends; null where
 * the client's architecture word is not known here (no spare is then kept).
 */
export function openingCalls(alias: string): Buffer[] | null {
  if (endianness() !== 'LE' || !['x64', 'arm64', 'ppc64', 'riscv64', 's390x', 'loong64'].includes(process.arch)) return null;
  const arch = Buffer.alloc(8);
  arch.writeBigUInt64BE(BigInt(LITTLE_ENDIAN_64));
  const name = Buffer.from(alias, 'utf8');
  const opaque = Buffer.alloc(4 + Math.ceil(name.length / 4) * 4);
  opaque.writeUInt32BE(name.length);
  name.copy(opaque, 4);
  return [callBody(C_SETUP_ARCH, arch), callBody(C_LOAD_MODULE, opaque), callBody(C_INITIALIZE, Buffer.alloc(0))];
}

/** The body as one fragment, with `xid`. */
export function markedWithXid(body: Buffer, xid: number): Buffer {
  const record = Buffer.alloc(4 + body.length);
  record.writeUInt32BE((LAST_FRAGMENT | body.length) >>> 0, 0);
  body.copy(record, 4);
  record.writeUInt32BE(xid >>> 0, 4);
  return record;
}

/** Whether `body` is `expected` but for its xid. */
export function sameCall(body: Buffer, expected: Buffer): boolean {
  return body.length === expected.length && body.subarray(4).equals(expected.subarray(4));
}

/**
 * An accepted reply (RPC success, AUTH_NONE verifier) to opening call `index`: C_SetupArch's result
 * is the server's architecture; C_LoadModule's and C_Initialize's, a CK_RV, must be CKR_OK.
 */
function succeeded(reply: Buffer, index: number): boolean {
  return reply.length >= 32 && reply.readUInt32BE(4) === 1 && reply.readUInt32BE(8) === 0 && reply.readUInt32BE(16) === 0 && reply.readUInt32BE(20) === 0 && (index === 0 || reply.readBigUInt64BE(24) === 0n);
}

export interface Spare {
  socket: Socket;
  /** The proxy's replies to the opening calls, in order (bodies; the cage's xids go in). */
  replies: Buffer[];
}

/** Keeps one spare connection ready to the proxy at `target`, primed with `opening`. */
export class SpareUpstream {
  private ready: Spare | null = null;
  private priming: Socket | null = null;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly target: string,
    private readonly opening: Buffer[],
  ) {}

  /** The three calls a cage's opening must match, in order. */
  get calls(): Buffer[] {
    return this.opening;
  }

  /**
   * The ready spare for one cage connection, or null. The next is opened once a connection ends
   * (connectionEnded) or NEXT_SPARE_DELAY_MS later, whichever comes first: opened at once, its
   * worker's module loading took the CPU the application being served was waiting for.
   */
  take(): Spare | null {
    const spare = this.ready;
    this.ready = null;
    if (spare) spare.socket.removeAllListeners('close').removeAllListeners('error').removeAllListeners('data');
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.prime(), NEXT_SPARE_DELAY_MS);
    return spare;
  }

  /** A cage connection ended: the next spare is opened now if none is. */
  connectionEnded(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.prime();
  }

  /** Opens the first spare. */
  start(): void {
    this.prime();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.priming?.destroy();
    this.ready?.socket.destroy();
    this.priming = null;
    this.ready = null;
  }

  private prime(): void {
    if (this.closed || this.priming || this.ready) return;
    const socket = createConnection(this.target);
    this.priming = socket;
    const records = new WholeRecords();
    const replies: Buffer[] = [];
    const failed = () => {
      socket.destroy();
      if (this.priming === socket) this.priming = null;
      if (this.ready?.socket === socket) {
        this.ready = null;
        if (!this.closed) this.timer = setTimeout(() => this.prime(), REOPEN_DELAY_MS);
      }
    };
    // One call at a time, each after the reply to the one before, as a client sends them.
    const send = () => socket.write(markedWithXid(this.opening[replies.length]!, replies.length + 1));
    socket.on('connect', send);
    socket.on('data', (chunk: Buffer) => {
      for (const reply of records.feed(chunk)) {
        if (this.ready || reply.readUInt32BE(0) !== replies.length + 1 || !succeeded(reply, replies.length)) return failed();
        replies.push(reply);
        if (replies.length < this.opening.length) send();
        else {
          this.priming = null;
          this.ready = { socket, replies };
        }
      }
    });
    socket.on('error', failed);
    socket.on('close', failed);
  }
}
