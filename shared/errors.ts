/**
 * Stable error codes shared by every process. A code never changes meaning once released;
 * messages are for people, codes are for programs and tests.
 */
export const ERROR_CODES = [
  'BAD_REQUEST', // payload failed its schema
  'UNKNOWN_METHOD',
  'UNKNOWN_LEVEL', // names a level the policy does not define
  'NOT_AUTHORISED', // missing or wrong launch token
  'CAGE_UNAVAILABLE', // cage not running
  'TICKET_INVALID', // unknown, used, expired, or bound to another cage
  'RFB_PROTOCOL', // client sent bytes the gateway does not accept
  'LIMIT_EXCEEDED',
  'POLICY_DENIED', // the administrator's policy does not allow it
  'WRONG_STATE', // not possible in the object's current state (attached, busy, gone)
  'MISSING_PROGRAM', // a host program is not installed; the message names its package
  'JOURNAL_UNAVAILABLE', // the audit record this decision needs cannot be written: refused
  'SESSION_LOCKED', // the workstation is locked: nothing but unlocking until it is unlocked
  'INTERNAL',
  'BUSY', // too many requests of this kind in flight: answered at once, the connection goes on; ask again later
  'CONNECTION_LOST', // the connection to the other process ended before its answer (not an answer of that process)
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * An error that crosses a process boundary: code + human message, nothing else. Given in both
 * languages, the message is the English one and `text` goes to the shell, which shows its own.
 */
export class CloisonError extends Error {
  readonly text?: { fr: string; en: string };

  constructor(
    readonly code: ErrorCode,
    message: string | { fr: string; en: string },
  ) {
    super(typeof message === 'string' ? message : message.en);
    this.name = 'CloisonError';
    if (typeof message !== 'string') this.text = message;
  }
}
