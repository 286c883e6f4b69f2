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
 *
 * The manager starts the running policy's bwrap cages itself as soon as it listens (`startEarly`,
 * managerMain.ts), the same way, while its part starts: a cage's start (seconds) no longer waits
 * for the part's. The part's first `cage.start` of such a level takes that start (waited for while
 * under way; `early: true` in the answer), once; a second is refused as before. A manager's start
 * that failed, or whose cage has ended since, is not handed over: the part's request starts afresh.
 */
import { CloisonError } from '../../shared/errors';
import { cageUid, type Policy } from '../../shared/policy';
import { BwrapDriver, bwrapCagePaths, type BwrapDriverOptions } from '../cages/bwrapDriver';
import { cageSoundOf } from '../policy/runningPolicy';
import { desktopTone } from '../../shared/cageScreenSize';
import { shellLocale } from '../policy/shellLocale';
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
  /** The manager's journal: a cage left running that is not taken back, and why. */
  journal?: (kind: string, fields: Record<string, string>) => void;
}

export interface CageStartAnswer {
  innerPid: number;
  /** A cage left running by an earlier manager, taken back (not started). */
  adopted: boolean;
  /** Why a cage left running was not taken back (then ended, and this one started fresh). */
  notAdopted?: string;
  /** Started by the manager at its own start, before the part asked. */
  early?: true;
  /** The size its Xvnc was started at (not for a cage taken back: unknown), for the part's screen sizing. */
  screen?: { width: number; height: number };
  /** The desktop colour its session painted at its start: the part does not paint it again. */
  desktopColour?: string;
}

export function cageStartExecutor(options: CageStartExecutorOptions): (req: RequestOf<'cage.start'>) => Promise<CageStartAnswer> {
  return async (req) => {
    const driver = driverFor(options, req);
    const early = options.cages.takeEarly(req.level) as Promise<EarlyStart> | undefined;
    const taken = early ? await early.catch(() => null) : null;
    // Only the very cage the manager started and still holds (the policy and the uid checked above, now).
    if (taken && options.cages.innerPidOf(req.level) === taken.answer.innerPid) {
      // Started from the policy before a reload that changed the level (its uid, its cage): not the policy's cage now.
      if (taken.definition !== definitionOf(options.policy(), req.level)) {
        await stopManaged(options, req.level);
        options.extras?.(req.level).log?.('the cage the manager started no longer matches the running policy: stopped, started afresh', { level: req.level });
      } else {
        options.extras?.(req.level).log?.('the part\'s cage.start takes the cage the manager started', { level: req.level, innerPid: taken.answer.innerPid });
        return { ...taken.answer, early: true };
      }
    }
    return startLevel(options, driver, req.level);
  };
}

/**
 * The manager's own start of a bwrap level of the running policy, held for the part's first
 * `cage.start` of it (managedCages.ts). Its uid is the policy's; a level not bwrap is refused.
 */
export function startEarly(options: CageStartExecutorOptions, level: string): Promise<CageStartAnswer> {
  const definition = definitionOf(options.policy(), level);
  const started = (async (): Promise<EarlyStart> => {
    const driver = new BwrapDriver({ ...cageDriverOptions(options.policy(), options, level), ...options.extras?.(level) });
    const answer = await startLevel(options, driver, level);
    // A reload while it started (the level dropped, its uid or cage changed): a cage no policy names now is not kept.
    if (definitionOf(options.policy(), level) !== definition) {
      await stopManaged(options, level);
      throw refused(`cage ${level}, started by the manager, no longer matches the running policy: stopped`);
    }
    return { answer, definition };
  })();
  options.cages.holdEarly(level, started);
  return started.then((s) => s.answer);
}

/** The manager's own start, with the level's definition it was started from. */
interface EarlyStart {
  answer: CageStartAnswer;
  definition: string | null;
}

/** What a level's cage is started from (its cage, uid and sound), to tell a reload that changed it; null: not a bwrap level now. */
function definitionOf(policy: Policy, levelId: string): string | null {
  try {
    const { cage, uid, sound } = cageDriverOptions(policy, { stateDir: '', runDir: '' }, levelId);
    return JSON.stringify({ cage, uid, sound });
  } catch {
    return null;
  }
}

/** Stops the level's managed cage and waits until the level is free again. */
async function stopManaged(options: CageStartExecutorOptions, level: string): Promise<void> {
  const cage = options.cages.cage(level);
  if (!cage) return;
  await cage.stop();
  await cage.exited;
}

/** Adopted if left running by an earlier manager, or started; the level reserved meanwhile. */
async function startLevel(options: CageStartExecutorOptions, driver: BwrapDriver, level: string): Promise<CageStartAnswer> {
  if (!options.cages.reserve(level)) {
    const state = options.cages.state(level);
    // A home being mounted is a moment's business, not the policy's: WRONG_STATE, as a mount during a start is.
    if (state === 'mounting') throw new CloisonError('WRONG_STATE', `cage ${level}'s home is being mounted: start it once the mount has answered`);
    throw refused(`cage ${level} is ${state} already: a second start is refused`);
  }
  try {
    const adoption = await driver.adopt(options.extras?.(level).log);
    if (adoption.kind === 'refused') {
      // Said as the root supervisor says it (cageAdoption.ts adoptOrStart); the fresh start below may be refused in turn.
      options.journal?.('cage.adoption', { level, decision: 'refused', reason: adoption.reason.slice(0, 500) });
      options.extras?.(level).log?.('cage not re-adopted', { level, reason: adoption.reason });
    }
    if (adoption.kind === 'adopted' && adoption.uidUnchecked) options.journal?.('cage.adoption', { level, decision: 'adopted, uid not re-checked', reason: adoption.uidUnchecked.slice(0, 500) });
    const cage = adoption.kind === 'adopted' ? adoption.cage : await driver.start();
    options.cages.running(level, cage);
    const started = { ...(cage.screen ? { screen: cage.screen } : {}), ...(cage.desktopColour ? { desktopColour: cage.desktopColour } : {}) };
    return { innerPid: cage.innerPid!, adopted: adoption.kind === 'adopted', ...(adoption.kind === 'refused' ? { notAdopted: adoption.reason } : {}), ...started };
  } catch (err) {
    options.cages.release(level);
    throw err;
  }
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
    desktopColour: desktopTone(level.colour),
    locale: shellLocale(policy),
  };
}
