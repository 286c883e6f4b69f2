/**
 * A uid Cloison runs something as — a level's cage, a level's card proxy — with its gid the same
 * number (setpriv --reuid N --regid N) must be nobody's: an account of that uid could trace,
 * signal and read what runs as it, and be traced by it; a group of that gid would own what it
 * makes. Asked of the name service (getent: local files, LDAP, SSSD alike); a name service that
 * gives no answer refuses too, never read as "nobody's". The schema cannot see the host's
 * accounts: each reading of the policy asks here, and each start again (an account made since).
 */
import { nameOfId } from '../system/accounts';
import type { Reader } from './readableBy';

/** How a refusal words what runs as the id. */
export interface IdUse {
  /** The rule: "a cage runs as a uid and gid of its own, no account's or group's". */
  own: string;
  /** What an account of that uid would get. */
  accountWould: string;
  /** The id as a gid: "the cage's gid". */
  asGid: string;
}

/**
 * Why `id` may not be used so ("<space>is the … account's…", ": cannot tell…"), null when it may.
 * `partAccount`: the manager's part account, known by its uid even where the name service differs.
 */
export function heldIdProblem(id: number, use: IdUse, partAccount?: Reader): string | null {
  try {
    const user = partAccount?.uid === id ? partAccount.name : nameOfId('passwd', id);
    if (user !== null) return ` is the ${user} account's: ${use.own} (${use.accountWould})`;
    const group = nameOfId('group', id);
    if (group !== null) return ` is, as ${use.asGid}, the ${group} group's: ${use.own}`;
    return null;
  } catch (err) {
    return `: cannot tell whether an account or a group has it, so refused: ${(err as Error).message}`;
  }
}
