/**
 * The manager's side of `cage.start`: the level's bwrap cage built from the running policy itself
 * (its cage definition, its uid by `cageUid`, its folders by `bwrapCagePaths`, its sound by
 * `cageSoundOf`), started by the same driver the supervisor starts it with today
 * (cages/bwrapDriver.ts), and kept in the manager's map (managedCages.ts). The request names only a
 * level and the uid the part expects: a uid that is not the level's by the policy now (a reload
 * since the authorization included), a level not bwrap, or a level starting or running already is
 * refused. The answer is the cage's sandbox pid and whether it was adopted, nothing more: its VNC
 * connection comes through `cage.vncSocket`, its end through `cage.wait`; the launcher channel, the
 * group and the mounts stay here.
 *
 * A cage of the level left running by an earlier manager (killed, restarted, upgraded: the cages
 * outlive it) is adopted rather than replaced, as the supervisor adopts one at its start
 * (cages/cageAdoption.ts): its record, root's in the level's run folder, checked against the kernel
 * — the same bwrap, sandbox and Xvnc (pid and start time), its pid namespace, its control group,
 * its uid, the peer at its VNC socket, the same definition in the policy now. Anything that does
 * not match: what was left of it is ended, and a fresh cage starts (the answer says why).
 */
import { CloisonError } from '../../shared/errors';
import { cageUid, type Policy } from '../../shared/policy';
import { BwrapDriver, bwrapCagePaths, type BwrapDriverOptions } from '../cages/bwrapDriver';
import { cageSoundOf } from '../policy/runningPolicy';
import type { ManagedCages } from './managedCages';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';

/** What the manager itself adds to a level's driver: its log and journal, a card endpoint, test timings. */
export type CageDriverExtras = Partial<Pick<BwrapDriverOptions, 'log' | 'journal' | 'smartcard' | 'startScreen' | 'startTimeoutMs'>>;

export interface CageStartExecutorOptions {
  /** The running policy, read at each request. */
  policy(): Policy;
  stateDir: string;
  runDir: string;
  cages: ManagedCages;
  extras?: (level: string) => CageDriverExtras;
}

export interface CageStartAnswer {
  innerPid: number;
  /** A cage left running by an earlier manager, taken back (not started). */
  adopted: boolean;
  /** Why a cage left running was not taken back (then ended, and this one started fresh). */
  notAdopted?: string;
}

export function cageStartExecutor(options: CageStartExecutorOptions): (req: RequestOf<'cage.start'>) => Promise<CageStartAnswer> {
  return async (req) => {
    const driver = driverFor(options, req);
    if (!options.cages.reserve(req.level)) {
      const state = options.cages.state(req.level);
      // A home being mounted is a moment's business, not the policy's: WRONG_STATE, as a mount during a start is.
      if (state === 'mounting') throw new CloisonError('WRONG_STATE', `cage ${req.level}'s home is being mounted: start it once the mount has answered`);
      throw refused(`cage ${req.level} is ${state} already: a second start is refused`);
    }
    try {
      const adoption = await driver.adopt(options.extras?.(req.level).log);
      const cage = adoption.kind === 'adopted' ? adoption.cage : await driver.start();
      options.cages.running(req.level, cage);
      return { innerPid: cage.innerPid!, adopted: adoption.kind === 'adopted', ...(adoption.kind === 'refused' ? { notAdopted: adoption.reason } : {}) };
    } catch (err) {
      options.cages.release(req.level);
      throw err;
    }
  };
}

/** The level's driver, every option from the policy and the manager's folders. */
function driverFor(options: CageStartExecutorOptions, req: RequestOf<'cage.start'>): BwrapDriver {
  const policy = options.policy();
  const index = policy.levels.findIndex((l) => l.id === req.level);
  const level = policy.levels[index];
  if (!level) throw refused(`no level "${req.level}" in the running policy`);
  if (level.cage.driver !== 'bwrap') throw refused(`level "${req.level}" is not a bwrap cage`);
  const uid = cageUid(level.cage, index);
  if (req.uid !== uid) throw refused(`uid ${req.uid} is not level ${req.level}'s (${uid})`);
  return new BwrapDriver({ ...cageDriverOptions(policy, options, level.id), ...options.extras?.(level.id) });
}

/** A bwrap level's driver options as the manager derives them (a cage it adopts was started from the same). */
export function cageDriverOptions(policy: Policy, folders: { stateDir: string; runDir: string }, levelId: string): BwrapDriverOptions {
  const index = policy.levels.findIndex((l) => l.id === levelId);
  const level = policy.levels[index];
  if (level?.cage.driver !== 'bwrap') throw refused(`level "${levelId}" is not a bwrap cage of the running policy`);
  return {
    level: level.id,
    cage: level.cage,
    uid: cageUid(level.cage, index),
    paths: bwrapCagePaths(folders.stateDir, folders.runDir, level.id),
    sound: cageSoundOf(policy, level.id),
  };
}
