/**
 * A uid Cloison runs something as — a level's cage, a level's card proxy — with its gid the same
 * number (setpriv --reuid N --regid N) must be nobody's: an account of that uid could trace,
 * signal and read what runs as it, and be traced by it; a group of that gid would own what it
 * makes; a subordinate grant of it (/etc/subuid, /etc/subgid, system/subordinateIds.ts) lets its
 * holder become it in a user namespace and signal what runs as it. Asked of the name service (local files, LDAP, SSSD alike: system/accounts.ts); a name
 * service that cannot tell — a source unavailable or not loadable, no answer in time — refuses
 * too, never read as "nobody's" (a directory user's uid would pass whenever the directory is
 * down). The schema cannot see the host's accounts: each reading of the policy asks here (every id
 * in one look-up per database), and each start again (an account made since), without stopping
 * the manager meanwhile (lookUpIdsAsync).
 */
import { namesOfIds, namesOfIdsAsync } from '../system/accounts';
import { subordinateGrants } from '../system/subordinateIds';
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

/** Who holds each of some ids, as accounts and as groups; or why the name service could not tell. */
export type IdHolders = { asked: ReadonlySet<number>; accounts: Map<number, string>; groups: Map<number, string> } | { noAnswer: string };

/** Two look-ups in all, whatever the number of ids. Synchronous: the policy's readings (policyLoader.ts). */
export function lookUpIds(ids: number[]): IdHolders {
  try {
    return { asked: new Set(ids), accounts: namesOfIds('passwd', ids), groups: namesOfIds('group', ids) };
  } catch (err) {
    return { noAnswer: (err as Error).message };
  }
}

/** lookUpIds for what runs while the manager serves (a cage's or a card proxy's start): both look-ups at once, neither stopping it. */
export async function lookUpIdsAsync(ids: number[]): Promise<IdHolders> {
  try {
    const [accounts, groups] = await Promise.all([namesOfIdsAsync('passwd', ids), namesOfIdsAsync('group', ids)]);
    return { asked: new Set(ids), accounts, groups };
  } catch (err) {
    return { noAnswer: (err as Error).message };
  }
}

/**
 * Why `id` may not be used so ("<space>is the … account's…", ": cannot tell…"), null when it may.
 * `partAccount`: the manager's part account, known by its uid even where the name service differs.
 * `holders`: looked up with the other ids of the same reading (one asked alone otherwise).
 */
export function heldIdProblem(id: number, use: IdUse, partAccount?: Reader, given?: IdHolders): string | null {
  // An id the given look-up did not ask about is asked alone: never read as nobody's for that.
  const holders = given && ('noAnswer' in given || given.asked.has(id)) ? given : lookUpIds([id]);
  if ('noAnswer' in holders) return `: cannot tell whether an account or a group has it, so refused: ${holders.noAnswer}`;
  const user = partAccount?.uid === id ? partAccount.name : (holders.accounts.get(id) ?? null);
  if (user !== null) return ` is the ${user} account's: ${use.own} (${use.accountWould})`;
  const group = holders.groups.get(id) ?? null;
  if (group !== null) return ` is, as ${use.asGid}, the ${group} group's: ${use.own}`;
  // A subuid/subgid grant holds it as surely: newuidmap lets its holder become it in a user
  // namespace of theirs, and kill(2) compares kernel uids only (cageUidSubuid.attack.test.ts).
  const grant = subordinateGrants().find((g) => g.start <= id && id < g.end);
  if (grant) return ` is granted as a subordinate id (${grant.file}: ${grant.line}): ${use.own} (its holder may become it in a user namespace of theirs and signal what runs as it)`;
  return null;
}
