/**
 * The manager's side of `training.document`: the right-level drill's document put in a level's
 * ~/Formation by a process of the cage's own (its launcher), with the drill's fixed shell line
 * (cages/trainingPrograms.ts's `documentWriter`, as rightLevelDrill.ts): no path of the cage's is followed as root, and the
 * part's text is only the file's name (a plain file name, checked again here) and its content.
 * Training must be allowed by the policy.
 */
import { CloisonError } from '../../shared/errors';
import type { Policy } from '../../shared/policy';
import { fileName } from '../../shared/trainingScenario';
import type { RunningCage } from '../cages/cageDriver';
import { run } from '../cages/cageLauncher';
import { documentWriter } from '../cages/trainingPrograms';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';

export interface TrainingDocumentExecutorOptions {
  policy(): Policy;
  cage(level: string): RunningCage | null;
}

export function trainingDocumentExecutor(options: TrainingDocumentExecutorOptions): (req: RequestOf<'training.document'>) => Promise<{ written: boolean }> {
  return async (req) => {
    const policy = options.policy();
    if (policy.training !== 'allowed') throw refused('the policy forbids training');
    if (!policy.levels.some((l) => l.id === req.level)) throw refused(`no level "${req.level}" in the running policy`);
    // The schema said so at the door; a name reaching here another way is not trusted either.
    if (!fileName.safeParse(req.name).success) throw refused(`${JSON.stringify(req.name.slice(0, 100))} is not a plain file name`);
    const cage = options.cage(req.level);
    if (!cage) throw new CloisonError('CAGE_UNAVAILABLE', `cage ${req.level} is not running`);
    const result = await run(cage, documentWriter(req.name, req.content));
    return { written: result.code === 0 };
  };
}
