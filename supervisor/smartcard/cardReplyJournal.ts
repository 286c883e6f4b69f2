/**
 * Journal events read off the card socket's RPC traffic, as the guard relays it: the filter
 * answers a call it refuses with a PKCS#11 error code, so a reply's code, matched by transaction
 * id with the call's procedure number (Caml Crush's pkcs11_rpc.x), says which function was refused
 * and, for calls naming an object, which handle. Caml Crush's own log (a line through netplex's
 * controller for every object the filter looks at) stays off: it doubled a signature's latency.
 *
 * Trust rule: only fixed-position words of a record's first bytes are read (the call's procedure,
 * its session, user type and object handle; the reply's code), never a PIN or data; every length is
 * bounded, a record of another shape is ignored.
 */
import type { Pkcs11Function } from '../../shared/smartcardPolicy';
import type { ObjectName } from './cardObjectNames';

export type CardEvent =
  | {
      kind: 'refused';
      function: string;
      handle: number | null;
      reason: 'denied-function' | 'hidden-object' | 'sensitive-value' | 'malformed' | 'journal-limit';
      /** What the token says the object is (cardObjectNames.ts); absent when it would not say. */
      object?: ObjectName;
    }
  /** A C_Login call and whether the card accepted it (never the PIN). */
  | { kind: 'login'; ok: boolean };

/** Bytes of each record kept for reading (RPC header, a mechanism's short parameter, a handle). */
export const RECORD_HEAD_BYTES = 128;
/** Calls awaiting their reply per connection (the client waits for each one). */
const MAX_PENDING = 64;
/**
 * Refusals journaled per connection; then one 'journal-limit' line. A handle the filter hides and
 * one that does not exist get the same code, so a scan of handles would otherwise be a flood.
 */
export const MAX_REFUSALS_PER_CONNECTION = 32;

/** Caml Crush's procedure numbers (program 4, version 3). */
const PROCEDURES: Record<number, string> = {
  9: 'C_Login', 18: 'C_InitPIN', 19: 'C_SetPIN', 21: 'C_InitToken', 26: 'C_GenerateKey', 27: 'C_GenerateKeyPair',
  28: 'C_CreateObject', 29: 'C_CopyObject', 30: 'C_DestroyObject', 31: 'C_GetAttributeValue', 32: 'C_SetAttributeValue',
  33: 'C_GetObjectSize', 34: 'C_WrapKey', 35: 'C_UnwrapKey', 36: 'C_DeriveKey', 41: 'C_DigestKey', 42: 'C_SignInit',
  46: 'C_VerifyInit', 50: 'C_EncryptInit', 54: 'C_DecryptInit', 58: 'C_SignRecoverInit', 60: 'C_VerifyRecoverInit',
};
/** What the record guard's relay program reports (cardRecordRelay.ts): logins always, these calls' refusals. */
export const LOGIN_PROCEDURE = 9;
export const JOURNAL_PROCEDURES = Object.keys(PROCEDURES).map(Number);
/** Calls whose object handle follows the session handle. */
const HANDLE_AFTER_SESSION = new Set([29, 30, 31, 32, 33, 41]);
/** Calls whose object handle follows the session handle and a mechanism. */
const HANDLE_AFTER_MECHANISM = new Set([34, 35, 36, 42, 46, 50, 54, 58, 60]);

const CKR_OK = 0x00;
const CKR_ATTRIBUTE_SENSITIVE = 0x11;
const CKR_KEY_HANDLE_INVALID = 0x60;
const CKR_OBJECT_HANDLE_INVALID = 0x82;
const CKU_SO = 0;
const RPC_CALL = 0;
const RPC_REPLY = 1;

interface PendingCall {
  procedure: number;
  session: number | null;
  handle: number | null;
  userType: number | null;
}

/** One connection's calls and replies; `denied` is the filter's list of refused functions. */
export class CardReplyJournal {
  private readonly pending = new Map<number, PendingCall>();
  private refusals = 0;

  constructor(
    private readonly denied: ReadonlySet<Pkcs11Function | string>,
    private readonly emit: (event: CardEvent) => void,
    /** Asks the token what a handle is, in this connection's session (null: it would not say). */
    private readonly name?: (session: number, handle: number) => Promise<ObjectName | null>,
  ) {}

  /** The first bytes of a record the cage sent. */
  call(head: Buffer): void {
    if (head.length < 40 || head.readUInt32BE(4) !== RPC_CALL) return;
    const procedure = head.readUInt32BE(20);
    if (!(procedure in PROCEDURES)) return;
    const args = skipOpaque(head, skipOpaque(head, 24, 4), 4); // credentials, then verifier (flavor, opaque body)
    if (args === null) return;
    const call: PendingCall = { procedure, session: hyper(head, args), handle: null, userType: null };
    if (procedure === 9) call.userType = hyper(head, args + 8);
    if (HANDLE_AFTER_SESSION.has(procedure)) call.handle = hyper(head, args + 8);
    if (HANDLE_AFTER_MECHANISM.has(procedure)) {
      // The mechanism: its type, then its parameter; C_WrapKey's second handle is the key wrapped out.
      const afterMechanism = skipOpaque(head, args + 16, 0);
      call.handle = afterMechanism === null ? null : hyper(head, afterMechanism + (procedure === 34 ? 8 : 0));
    }
    if (this.pending.size >= MAX_PENDING) this.pending.clear();
    this.pending.set(head.readUInt32BE(0), call);
  }

  /** The first bytes of a record the proxy answered. */
  reply(head: Buffer): void {
    if (head.length < 24 || head.readUInt32BE(4) !== RPC_REPLY || head.readUInt32BE(8) !== 0) return;
    const xid = head.readUInt32BE(0);
    const call = this.pending.get(xid);
    if (!call) return;
    this.pending.delete(xid);
    const accepted = skipOpaque(head, 12, 4); // verifier
    if (accepted === null || head.length < accepted + 12 || head.readUInt32BE(accepted) !== 0) return;
    const rv = hyper(head, accepted + 4);
    if (rv === null) return;
    const fn = PROCEDURES[call.procedure]!;
    if (call.procedure === 9 && call.userType !== CKU_SO) return this.emit({ kind: 'login', ok: rv === CKR_OK });
    if (rv === CKR_OK) return;
    if (this.denied.has(fn) || call.procedure === 9) return this.refused(fn, call, 'denied-function');
    // A hidden object is not asked about: the filter would not name it (and the code says so already).
    if (rv === CKR_OBJECT_HANDLE_INVALID || rv === CKR_KEY_HANDLE_INVALID) return this.refused(fn, { ...call, session: null }, 'hidden-object');
    if (call.procedure === 31 && rv === CKR_ATTRIBUTE_SENSITIVE) this.refused(fn, call, 'sensitive-value');
  }

  private refused(fn: string, { session, handle }: PendingCall, reason: 'denied-function' | 'hidden-object' | 'sensitive-value'): void {
    this.refusals += 1;
    if (this.refusals <= MAX_REFUSALS_PER_CONNECTION) {
      const event = { kind: 'refused' as const, function: fn, handle, reason };
      if (!this.name || session === null || handle === null) return this.emit(event);
      // Asked now, while the connection is between the refusal and the cage's next call.
      void this.name(session, handle).then(
        (object) => this.emit(object ? { ...event, object } : event),
        () => this.emit(event),
      );
    } else if (this.refusals === MAX_REFUSALS_PER_CONNECTION + 1) this.emit({ kind: 'refused', function: fn, handle: null, reason: 'journal-limit' });
  }
}

/** An XDR hyper as a number (handles and codes are small); null past the head. */
function hyper(head: Buffer, at: number): number | null {
  if (at + 8 > head.length) return null;
  return Number(head.readBigUInt64BE(at) & 0xffffffffffffn);
}

/** Skips `skip` bytes then an XDR opaque (length, body padded to 4); null past the head. */
function skipOpaque(head: Buffer, at: number | null, skip: number): number | null {
  if (at === null || at + skip + 4 > head.length) return null;
  const length = head.readUInt32BE(at + skip);
  const next = at + skip + 4 + Math.ceil(length / 4) * 4;
  return next > head.length ? null : next;
}
