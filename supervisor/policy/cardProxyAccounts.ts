/**
 * A level's card proxy runs as a uid no account has, its gid the same number, which no group has
 * (levelCardProxy.ts: setpriv --reuid N --regid N). Its workers hold the level's card sessions,
 * logged in; the uid owns the proxy's inner socket folder, where the guard injects the trusted PIN.
 * An account of that uid — the workstation's user (`session.user`), another person's login, a
 * service, `cloison` — could trace, signal and read those workers, listen in that folder and take
 * the PIN; a group of that gid would own what the proxy makes with its gid. The project creates no
 * proxy account (setup.sh, the .deb's postinst: bare numbers, 61100 + the level's position by
 * default), so the rule is whole: the uid is nobody's and the gid number no group's.
 *
 * Asked of the name service (local files, LDAP, SSSD alike) at every reading of the policy
 * — the manager's load and reload, the part's — and refused with the policy's place; a name service
 * that gives no answer refuses too. The schema cannot see the host's accounts: checked here. Asked
 * again at each start of a proxy (levelCardProxy.ts): an account made since the reading (a directory's,
 * an administrator's useradd) keeps that level's proxy from starting. The check itself, the same for
 * the cages' uids (cageUidAccounts.ts): ownIds.ts.
 */
import { cardProxyUids, DEFAULT_CARD_PROXY_UID_BASE, type SmartcardPolicy } from '../../shared/smartcardPolicy';
import { heldIdProblem, lookUpIdsAsync, type IdHolders, type IdUse } from './ownIds';
import type { Reader } from './readableBy';

type Problem = { path: Array<string | number>; message: string };

/** `partAccount`: the manager's part account (its name may not be `cloison`, nor in the name service the part reads); `holders`: the reading's look-up. */
export function checkCardProxyAccounts(card: SmartcardPolicy | undefined, partAccount?: Reader, holders?: IdHolders): Problem[] {
  if (!card) return [];
  return cardProxyUids(card).flatMap(({ level, uid, explicit }) => {
    const path = ['smartcard', 'levels', level, ...(explicit ? ['uid'] : [])];
    const which = explicit ? `uid ${uid}` : `uid ${uid} (the default: ${DEFAULT_CARD_PROXY_UID_BASE} + its position)`;
    const problem = cardProxyUidProblem(uid, partAccount, holders);
    return problem ? [{ path, message: `${which}${problem}` }] : [];
  });
}

const PROXY_ID: IdUse = {
  own: "the card's proxy runs as a uid and gid of its own, no account's or group's",
  accountWould: "that account would own the proxy's workers, their card sessions and the PIN given to them",
  asGid: "the proxy's gid",
};

/** Why `uid` may not be a card proxy's ("<space>is the … account's…", ": cannot tell…"), null when it may. */
export function cardProxyUidProblem(uid: number, partAccount?: Reader, holders?: IdHolders): string | null {
  return heldIdProblem(uid, PROXY_ID, partAccount, holders);
}

/** cardProxyUidProblem asked at a start, while the manager serves: the look-up does not stop it. */
export async function cardProxyUidProblemAtStart(uid: number): Promise<string | null> {
  return cardProxyUidProblem(uid, undefined, await lookUpIdsAsync([uid]));
}
