/**
 * On the `cloison` part's side, first thing: its start read from its environment (and returned), then the part
 * drops to the `cloison` user for good (sandbox/partSelfRestriction.ts: bounding set emptied, no
 * capability, no new privileges, the service's syscall filter on every thread), checked in /proc.
 * Throws if a step did not happen: the part then stops, having read nothing from anyone.
 */
import { restrictUnprivilegedPart } from '../sandbox/partSelfRestriction';

/** Kept apart from cloisonPart.ts (the manager's side) so the part's bundle stays small. */
const CLOISON_PART_START_ENV = 'CLOISON_PART_START';

/** Restricts the part; returns the rest of its start (cloisonPart.ts's `start`). */
export function restrictCloisonPart(): Record<string, unknown> {
  const start = JSON.parse(process.env[CLOISON_PART_START_ENV] ?? 'null') as ({ account: { uid: number; gid: number } | null } & Record<string, unknown>) | null;
  if (!start) throw new Error(`started without ${CLOISON_PART_START_ENV}: the cage manager starts this`);
  delete process.env[CLOISON_PART_START_ENV];
  restrictUnprivilegedPart('the cloison part', start.account);
  return start;
}
