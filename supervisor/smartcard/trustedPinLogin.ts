/**
 * `smartcard.pin: trusted` on the wire: the guard (recordGuard.ts) hands each whole record of a
 * connection here. A cage's C_Login (Caml Crush procedure 9) is held; the PIN the user types in the
 * trusted dialog replaces the record's PIN field, whatever the cage put there (a PIN, a wrong one,
 * none), and that record goes to the proxy; the PIN's bytes are zeroed once written. No answer from
 * the user (cancelled, timed out, another dialog open, the workstation locked): the guard answers
 * the cage itself with CKR_FUNCTION_CANCELED and the token sees no login. C_GetTokenInfo replies
 * gain CKF_PROTECTED_AUTHENTICATION_PATH, which tells PKCS#11 applications to log in with a NULL PIN
 * (pkcs11-tool, Firefox, OpenSSL's engines then ask the cage's user nothing).
 *
 * Trust rule: the PIN the token checks comes only from the trusted dialog; the cage's PIN argument
 * never reaches the proxy (an officer login goes with an empty PIN: the filter refuses it anyway).
 * Records are parsed at fixed positions with every length bounded; one of another shape passes
 * unchanged (it is not a login: the proxy's decoder judges it).
 */

/** CKR_FUNCTION_CANCELED: the cage's C_Login when the user typed nothing. */
export const CKR_FUNCTION_CANCELED = 0x50;
const CKU_USER = 1;
const CKU_CONTEXT_SPECIFIC = 2;
const CKF_PROTECTED_AUTHENTICATION_PATH = 0x100;
const LAST_FRAGMENT = 0x80000000;
const PROGRAM = 4;
const VERSION = 3;
const C_GET_TOKEN_INFO = 8;
const C_LOGIN = 9;
/** C_GetTokenInfo calls awaiting their reply on one connection (the client waits for each). */
const MAX_TOKEN_INFO_CALLS = 16;

export interface LoginCall {
  xid: number;
  userType: number;
  /** Where the PIN's opaque starts (after session and user type). */
  pinAt: number;
}

/** The call's procedure and where its arguments start; null for anything not a Caml Crush call. */
function callOf(body: Buffer): { xid: number; procedure: number; args: number } | null {
  if (body.length < 40 || body.readUInt32BE(4) !== 0 || body.readUInt32BE(8) !== 2) return null;
  if (body.readUInt32BE(12) !== PROGRAM || body.readUInt32BE(16) !== VERSION) return null;
  const afterCredentials = opaqueEnd(body, 28);
  const args = afterCredentials === null ? null : opaqueEnd(body, afterCredentials + 4);
  return args === null ? null : { xid: body.readUInt32BE(0), procedure: body.readUInt32BE(20), args };
}

/** A C_Login call record's body (fragments joined); null for any other record. */
export function loginCall(body: Buffer): LoginCall | null {
  const call = callOf(body);
  if (!call || call.procedure !== C_LOGIN || call.args + 16 + 4 > body.length) return null;
  return { xid: call.xid, userType: Number(body.readBigUInt64BE(call.args + 8) & 0xffffffffn), pinAt: call.args + 16 };
}

/** Whether a C_Login of this user type gets the dialog (the user's own logins, not the officer's). */
export function asksPin(login: LoginCall): boolean {
  return login.userType === CKU_USER || login.userType === CKU_CONTEXT_SPECIFIC;
}

/** The login record with `pin` in place of whatever the cage sent (one fragment, marked). */
export function withPin(body: Buffer, login: LoginCall, pin: Buffer): Buffer {
  const padded = Math.ceil(pin.length / 4) * 4;
  const record = Buffer.alloc(4 + login.pinAt + 4 + padded);
  record.writeUInt32BE((LAST_FRAGMENT | (record.length - 4)) >>> 0, 0);
  body.copy(record, 4, 0, login.pinAt);
  record.writeUInt32BE(pin.length, 4 + login.pinAt);
  pin.copy(record, 4 + login.pinAt + 4);
  return record;
}

/** The reply the guard gives a call itself: accepted, AUTH_NONE, and `rv` (a C_Login's whole result). */
export function rvReply(xid: number, rv: number): Buffer {
  const record = Buffer.alloc(4 + 32);
  record.writeUInt32BE((LAST_FRAGMENT | 32) >>> 0, 0);
  [xid, 1, 0, 0, 0, 0].forEach((word, i) => record.writeUInt32BE(word >>> 0, 4 + i * 4));
  record.writeBigUInt64BE(BigInt(rv), 28);
  return record;
}

/** A record body marked as one fragment. */
export function marked(body: Buffer): Buffer {
  const mark = Buffer.alloc(4);
  mark.writeUInt32BE((LAST_FRAGMENT | body.length) >>> 0, 0);
  return Buffer.concat([mark, body]);
}

/**
 * A C_GetTokenInfo reply's body with CKF_PROTECTED_AUTHENTICATION_PATH set (in place); unchanged if
 * it is of another shape. Layout (pkcs11_rpc.x): rv, then label, manufacturer, model and serial as
 * opaques, then the flags.
 */
export function withProtectedPath(body: Buffer): Buffer {
  if (body.length < 24 || body.readUInt32BE(4) !== 1 || body.readUInt32BE(8) !== 0) return body;
  const verifierEnd = opaqueEnd(body, 16);
  if (verifierEnd === null || verifierEnd + 12 > body.length || body.readUInt32BE(verifierEnd) !== 0) return body;
  if (body.readBigUInt64BE(verifierEnd + 4) !== 0n) return body;
  let at: number | null = verifierEnd + 12;
  for (let i = 0; i < 4 && at !== null; i++) at = opaqueEnd(body, at);
  if (at === null || at + 8 > body.length) return body;
  body.writeBigUInt64BE(body.readBigUInt64BE(at) | BigInt(CKF_PROTECTED_AUTHENTICATION_PATH), at);
  return body;
}

/** Past the XDR opaque whose length word is at `at`; null past the body. */
function opaqueEnd(body: Buffer, at: number): number | null {
  if (at + 4 > body.length) return null;
  const end = at + 4 + Math.ceil(body.readUInt32BE(at) / 4) * 4;
  return end > body.length ? null : end;
}

/** What becomes of a cage's record: sent on to the proxy, or answered by the guard. */
export type CallOutcome = { forward: Buffer; secret?: boolean } | { answer: Buffer };

/** What the dialog gave: the PIN's bytes (zeroed by the guard once written), or null for none. */
export type PinAsker = () => Promise<Buffer | null>;

/** One connection's records under `pin: trusted`. */
export class TrustedPinLogin {
  private readonly tokenInfoCalls = new Set<number>();

  constructor(private readonly askPin: PinAsker) {}

  /** A whole record the cage sent (body, fragments joined). */
  async call(body: Buffer): Promise<CallOutcome> {
    const login = loginCall(body);
    if (!login) {
      const call = callOf(body);
      if (call?.procedure === C_GET_TOKEN_INFO) {
        if (this.tokenInfoCalls.size >= MAX_TOKEN_INFO_CALLS) this.tokenInfoCalls.clear();
        this.tokenInfoCalls.add(call.xid);
      }
      return { forward: marked(body) };
    }
    if (!asksPin(login)) return { forward: withPin(body, login, Buffer.alloc(0)) };
    const pin = await this.askPin();
    if (pin === null) return { answer: rvReply(login.xid, CKR_FUNCTION_CANCELED) };
    const record = withPin(body, login, pin);
    pin.fill(0);
    return { forward: record, secret: true };
  }

  /** A whole reply of the proxy's (body): what the cage gets, marked. */
  reply(body: Buffer): Buffer {
    const xid = body.length >= 4 ? body.readUInt32BE(0) : -1;
    if (this.tokenInfoCalls.delete(xid)) withProtectedPath(body);
    return marked(body);
  }
}
