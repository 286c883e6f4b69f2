/**
 * A level's bwrap cage runs as a uid no account has, its gid the same number, which no group has
 * (bwrapDriver.ts: setpriv --reuid N --regid N). An account of that uid — the workstation's user,
 * whose processes draw every level and read the keyboard, another person's login, a service —
 * and the cage's apps, which run a level's documents, would be one another's to trace and signal,
 * and the account's files the cage's; a group of that gid would own what the cage makes. The
 * project creates no cage account (61000 + the level's position by default, bare numbers), so the
 * rule is whole, as for the card proxies (cardProxyAccounts.ts, the check shared: ownIds.ts).
 *
 * Checked at every reading of the policy (explicit uid or default), refused with the policy's
 * place, and asked again at each start of a cage (bwrapDriver.ts): an account made since the
 * reading keeps that level's cage from starting, said in its state and journaled.
 */
import { cageUid, DEFAULT_CAGE_UID_BASE, type Policy } from '../../shared/policy';
import { heldIdProblem, lookUpIdsAsync, type IdHolders, type IdUse } from './ownIds';
import type { Reader } from './readableBy';

type Problem = { path: Array<string | number>; message: string };

const CAGE_ID: IdUse = {
  own: 'a cage runs as a uid and gid of its own, no account\'s or group\'s',
  accountWould: "that account's processes and the cage's apps would be one another's to trace and signal, its files the cage's",
  asGid: "the cage's gid",
};

/** The uids of the policy's bwrap cages, each with its level's position and whether the policy names it. */
export function bwrapCageUids(policy: Policy): Array<{ index: number; uid: number; explicit: boolean }> {
  return policy.levels.flatMap((level, index) => (level.cage.driver === 'bwrap' ? [{ index, uid: cageUid(level.cage, index), explicit: level.cage.uid !== undefined }] : []));
}

/** `partAccount`: the manager's part account (known by its uid, whatever the name service says); `holders`: the reading's look-up. */
export function checkCageUidAccounts(policy: Policy, partAccount?: Reader, holders?: IdHolders): Problem[] {
  return bwrapCageUids(policy).flatMap(({ index, uid, explicit }) => {
    const problem = cageUidProblem(uid, partAccount, holders);
    if (!problem) return [];
    const which = explicit ? `uid ${uid}` : `uid ${uid} (the default: ${DEFAULT_CAGE_UID_BASE} + its position)`;
    return [{ path: ['levels', index, 'cage', ...(explicit ? ['uid'] : [])], message: `${which}${problem}` }];
  });
}

/** Why `uid` may not be a cage's ("<space>is the … account's…", ": cannot tell…"), null when it may. */
export function cageUidProblem(uid: number, partAccount?: Reader, holders?: IdHolders): string | null {
  return heldIdProblem(uid, CAGE_ID, partAccount, holders);
}

/** cageUidProblem asked at a start, while the manager serves: the look-up does not stop it. */
export async function cageUidProblemAtStart(uid: number): Promise<string | null> {
  return cageUidProblem(uid, undefined, await lookUpIdsAsync([uid]));
}

/**
 * At a re-adoption the cage already runs and holds the user's unsaved work: an account given its
 * uid refuses it as at a start, but a name service that cannot answer (a directory down while the
 * supervisor restarts) does not end it — it was checked at its start; the doubt is said instead.
 */
export async function cageUidAtAdoption(uid: number): Promise<{ held: string | null; cannotTell: string | null }> {
  const holders = await lookUpIdsAsync([uid]);
  if ('noAnswer' in holders) return { held: null, cannotTell: holders.noAnswer };
  return { held: cageUidProblem(uid, undefined, holders), cannotTell: null };
}
