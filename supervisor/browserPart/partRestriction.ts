/**
 * The browser part restricts itself before it listens to anything (sandbox/unprivilegedPart.ts);
 * started by setpriv with no_new_privs and a bounding set holding only what that needs (browserPart.ts).
 */
import { restrictUnprivilegedPart } from '../sandbox/partSelfRestriction';

export function restrictBrowserPart(account: { uid: number; gid: number } | null): void {
  restrictUnprivilegedPart('the browser part', account);
}
