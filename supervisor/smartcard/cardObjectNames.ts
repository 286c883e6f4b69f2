/**
 * The names of the objects a refusal is about, asked of the token: the wire carries only handles,
 * and a handle means something only inside the proxy worker that gave it out (SoftHSM2 and OpenSC
 * number objects per process). So the guard asks that same worker, on the cage's own connection and
 * session, for the object's CKA_LABEL and CKA_ID (C_GetAttributeValue, Caml Crush procedure 31),
 * and takes the answer out of the stream before the cage could see it.
 *
 * Trust rule: the name comes from the token through the level's filter, never from anything the
 * cage sent (the cage chooses the handle, the token says what it is); an object the filter hides
 * stays unnamed. A call is slipped in only between records, when no call of the cage awaits its
 * reply, so the cage's and the guard's records never mix and the next reply is the guard's. Only
 * the label and id are asked (never a value); at most one question at a time, bounded.
 */
import type { Socket } from 'node:net';

export interface ObjectName {
  label?: string;
  /** CKA_ID in lower-case hexadecimal. */
  id?: string;
}

const CKA_LABEL = 0x03;
const CKA_ID = 0x102;
/** Bytes asked for each attribute (a label or id longer than this stays unnamed). */
const ATTRIBUTE_BYTES = 128;
/** Bytes of the guard's reply kept (its header and the two attributes). */
const MAX_REPLY_BYTES = 1024;
const ANSWER_TIMEOUT_MS = 2000;
const LAST_FRAGMENT = 0x80000000;
/** Transaction ids of the guard's calls: above what Caml Crush's client counts to in practice. */
let nextXid = 0xc1050000;

/** C_GetAttributeValue(session, object, [CKA_LABEL, CKA_ID]) as one RPC record (with its mark). */
export function attributeCall(session: number, handle: number, xid = nextXid++ >>> 0): Buffer {
  const attribute = (type: number) => {
    const b = Buffer.alloc(8 + 4 + ATTRIBUTE_BYTES + 8);
    b.writeBigUInt64BE(BigInt(type), 0);
    b.writeUInt32BE(ATTRIBUTE_BYTES, 8); // a zeroed buffer of that size for the module to fill
    b.writeBigUInt64BE(BigInt(ATTRIBUTE_BYTES), 12 + ATTRIBUTE_BYTES);
    return b;
  };
  const header = Buffer.alloc(40);
  // xid, CALL, RPC version 2, program 4, version 3, procedure 31, AUTH_NONE credentials and verifier
  [xid, 0, 2, 4, 3, 31, 0, 0, 0, 0].forEach((word, i) => header.writeUInt32BE(word, i * 4));
  const args = Buffer.alloc(20);
  args.writeBigUInt64BE(BigInt(session), 0);
  args.writeBigUInt64BE(BigInt(handle), 8);
  args.writeUInt32BE(2, 16);
  const body = Buffer.concat([header, args, attribute(CKA_LABEL), attribute(CKA_ID)]);
  const mark = Buffer.alloc(4);
  mark.writeUInt32BE((LAST_FRAGMENT | body.length) >>> 0, 0);
  return Buffer.concat([mark, body]);
}

/** The label and id in the reply to attributeCall (record body, fragments joined); null if none. */
export function parseAttributeReply(body: Buffer): ObjectName | null {
  const r = new Reader(body);
  r.skip(4); // xid
  if (r.word() !== 1 || r.word() !== 0) return null; // REPLY, MSG_ACCEPTED
  r.skip(4);
  r.opaque(); // verifier
  if (r.word() !== 0) return null; // SUCCESS
  const rv = r.hyper();
  // CKR_OK, or one attribute the object lacks (CKR_ATTRIBUTE_TYPE_INVALID): the other is still filled in.
  if (rv === null || (rv !== 0 && rv !== 0x12)) return null;
  const count = r.word();
  if (count === null || count > 2) return null;
  const name: ObjectName = {};
  for (let i = 0; i < count; i++) {
    const type = r.hyper();
    const value = r.opaque();
    const length = r.hyper();
    if (type === null || value === null || length === null) return null;
    if (length > value.length) continue; // unavailable (-1) or cut short
    const bytes = value.subarray(0, length);
    if (type === CKA_LABEL && length > 0) name.label = printable(bytes.toString('utf8'));
    if (type === CKA_ID && length > 0) name.id = bytes.toString('hex');
  }
  return name.label !== undefined || name.id !== undefined ? name : null;
}

/** A label as the journal keeps it: one line, control characters shown as U+FFFD, trailing blanks off. */
function printable(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}]/gu, '\uFFFD').trimEnd();
}

class Reader {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  skip(n: number): void {
    this.at += n;
  }
  word(): number | null {
    if (this.at + 4 > this.b.length) return null;
    const v = this.b.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  hyper(): number | null {
    if (this.at + 8 > this.b.length) return null;
    const v = this.b.readBigUInt64BE(this.at);
    this.at += 8;
    return v > 0xffffffffffffn ? -1 : Number(v);
  }
  opaque(): Buffer | null {
    const length = this.word();
    if (length === null || this.at + length > this.b.length) return null;
    const v = this.b.subarray(this.at, this.at + length);
    this.at += Math.ceil(length / 4) * 4;
    return v;
  }
}

/** Takes one whole record off the front of a byte stream; says what of a chunk comes after it. */
class RecordTaker {
  private mark: number[] = [];
  private remaining = -1;
  private last = false;
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  done = false;

  /** The bytes of `chunk` after the record (all of it once done). */
  feed(chunk: Buffer): Buffer {
    let i = 0;
    while (i < chunk.length && !this.done) {
      if (this.remaining < 0) {
        this.mark.push(chunk[i++]!);
        if (this.mark.length < 4) continue;
        const word = Buffer.from(this.mark).readUInt32BE(0);
        this.mark = [];
        this.last = (word & LAST_FRAGMENT) !== 0;
        this.remaining = word & 0x7fffffff;
      }
      const take = Math.min(this.remaining, chunk.length - i);
      if (this.keptBytes < MAX_REPLY_BYTES) {
        const part = chunk.subarray(i, i + Math.min(take, MAX_REPLY_BYTES - this.keptBytes));
        this.kept.push(Buffer.from(part));
        this.keptBytes += part.length;
      }
      i += take;
      this.remaining -= take;
      if (this.remaining === 0) {
        this.remaining = -1;
        if (this.last) this.done = true;
      }
    }
    return chunk.subarray(i);
  }

  body(): Buffer {
    return Buffer.concat(this.kept);
  }
}

/**
 * One connection's questions to its proxy worker. The guard says whether the connection is quiet
 * (between records, no call of the cage awaiting its reply); the proxy's next record is then the
 * answer, taken out of what the cage is sent.
 */
export class InjectedCalls {
  private current: { taker: RecordTaker; resolve: (body: Buffer | null) => void } | null = null;

  constructor(private readonly proxy: Socket) {}

  /** Whether the proxy's stream must go through take() first. */
  get taking(): boolean {
    return this.current !== null;
  }

  /** Sends a call record; resolves with its reply's body (null if not quiet, busy or no answer). */
  ask(record: Buffer, quiet: boolean): Promise<Buffer | null> {
    if (!quiet || this.current !== null || this.proxy.destroyed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), ANSWER_TIMEOUT_MS);
      this.current = {
        taker: new RecordTaker(),
        resolve: (body) => {
          clearTimeout(timer);
          resolve(body);
        },
      };
      this.proxy.write(record);
    });
  }

  /** Removes the answer from the proxy's bytes; returns what goes on to the cage. */
  take(chunk: Buffer): Buffer {
    const current = this.current!;
    const rest = current.taker.feed(chunk);
    if (current.taker.done) {
      this.current = null;
      current.resolve(current.taker.body());
    }
    return rest;
  }

  close(): void {
    this.current?.resolve(null);
    this.current = null;
  }
}

/** What the journal asks with: a connection's `ask` (RecordGuard's watch) turned into a name lookup. */
export function nameFrom(ask: (record: Buffer) => Promise<Buffer | null>): (session: number, handle: number) => Promise<ObjectName | null> {
  return async (session, handle) => {
    const body = await ask(attributeCall(session, handle));
    return body ? parseAttributeReply(body) : null;
  };
}
