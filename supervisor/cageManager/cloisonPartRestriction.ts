/**
 * On the `cloison` part's side, first thing: its start read from its environment (and returned), then the part
 * drops to the `cloison` user for good (its bounding set emptied, no capability, no new privileges,
 * its own syscall filter on every thread: cloisonPartSeccompProgram, the service's less the namespace
 * calls its bwrap needs for the file sandboxes), checked in /proc. Unlike the browser and sound
 * parts it keeps the supplementary groups the manager names (`groups`: the shell's and the
 * administrators' groups, whose sockets it gives to them, as the broker's unit's
 * SupplementaryGroups= does), and no other.
 * Throws if a step did not happen: the part then stops, having read nothing from anyone.
 */
import { dropBoundingCapabilities, installSeccompFilter, privilegeStatus, restrictToUnprivilegedService, setNoNewPrivileges } from '../system/selfRestriction';
// Its bwrap builds the file sandboxes (converter, OCR, scanner) in a user namespace of its own (files/sandboxUser.ts).
import { cloisonPartSeccompProgram } from '../sandbox/processSyscallFilters';

/** Kept apart from cloisonPart.ts (the manager's side) so the part's bundle stays small. */
const CLOISON_PART_START_ENV = 'CLOISON_PART_START';

type Start = { account: { uid: number; gid: number } | null; groups?: unknown } & Record<string, unknown>;

function groupsOf(start: Start): number[] {
  const groups = start.groups ?? [];
  if (!Array.isArray(groups) || !groups.every((g) => Number.isInteger(g) && (g as number) > 0)) throw new Error('the cloison part\'s start names groups that are not group ids');
  return groups as number[];
}

/** Restricts the part; returns the rest of its start (cloisonPart.ts's `start`). */
export function restrictCloisonPart(): Record<string, unknown> {
  const start = JSON.parse(process.env[CLOISON_PART_START_ENV] ?? 'null') as Start | null;
  if (!start) throw new Error(`started without ${CLOISON_PART_START_ENV}: the cage manager starts this`);
  delete process.env[CLOISON_PART_START_ENV];
  const groups = groupsOf(start);
  if (start.account) {
    dropBoundingCapabilities([]);
    restrictToUnprivilegedService({ uid: start.account.uid, gid: start.account.gid, groups }, cloisonPartSeccompProgram());
  } else {
    // Started by an unprivileged manager (tests): its user kept, the rest taken.
    setNoNewPrivileges();
    installSeccompFilter(cloisonPartSeccompProgram());
  }
  const status = privilegeStatus();
  if (status.uid === 0 || status.capEff !== '0000000000000000' || status.noNewPrivs !== 1 || status.seccomp !== 2) {
    throw new Error(`the cloison part is not restricted: uid ${status.uid}, CapEff ${status.capEff}, NoNewPrivs ${status.noNewPrivs}, Seccomp ${status.seccomp}`);
  }
  return start;
}
