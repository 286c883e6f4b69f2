/**
 * The manager's side of `training.spoof`: the spoof drill's look-alike of the shell (a band in
 * another level's colour, a crossing dialog, a lock screen) shown in a level's cage through the
 * launcher channel the manager holds, or taken down. The request names a level and one of the three
 * looks only: the program is the drill's own (cages/trainingPrograms.ts), its text built from the
 * running policy's other level, never from the part; training must be allowed by the policy, and
 * one look-alike at most is up per level (a second show is refused while the first runs).
 */
import { CloisonError } from '../../shared/errors';
import type { Policy } from '../../shared/policy';
import type { RunningCage } from '../cages/cageDriver';
import { launch, onLaunchedExit } from '../cages/cageLauncher';
import { levelViews } from '../policy/levelViews';
import { spoofProgram, spoofText, stopLookAlike } from '../cages/trainingPrograms';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';

export interface TrainingSpoofExecutorOptions {
  policy(): Policy;
  /** The manager's running cage of a level (managedCages.ts), or null. */
  cage(level: string): RunningCage | null;
}

export function trainingSpoofExecutor(options: TrainingSpoofExecutorOptions): (req: RequestOf<'training.spoof'>) => Promise<{ shown: boolean; pid?: number }> {
  const up = new Map<string, { cage: RunningCage; program: Awaited<ReturnType<typeof launch>> }>();
  // Levels whose look-alike is being launched: a second `show` meanwhile finds the level taken.
  const launching = new Set<string>();
  return async (req) => {
    const policy = options.policy();
    if (policy.training !== 'allowed') throw refused('the policy forbids training');
    const views = levelViews(policy);
    if (!views.some((l) => l.id === req.level)) throw refused(`no level "${req.level}" in the running policy`);
    if (req.action === 'hide') {
      const shown = up.get(req.level);
      up.delete(req.level);
      if (shown) await stopLookAlike(shown.cage, shown.program);
      return { shown: false };
    }
    if (up.has(req.level) || launching.has(req.level)) throw refused(`a look-alike is up in ${req.level} already: one at a time`);
    const cage = options.cage(req.level);
    if (!cage) throw new CloisonError('CAGE_UNAVAILABLE', `cage ${req.level} is not running`);
    const other = views.find((l) => l.id !== req.level) ?? views[0]!;
    launching.add(req.level);
    let program: Awaited<ReturnType<typeof launch>>;
    try {
      program = await launch(cage, spoofProgram(spoofText(req.look, other)));
    } finally {
      launching.delete(req.level);
    }
    up.set(req.level, { cage, program });
    const off = onLaunchedExit(cage, (p) => {
      if (p.pid !== program.pid) return;
      off();
      if (up.get(req.level)?.program === program) up.delete(req.level);
    });
    return { shown: true, pid: program.pid };
  };
}
