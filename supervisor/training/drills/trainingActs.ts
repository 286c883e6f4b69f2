/**
 * What the drills do in a cage: show the spoof drill's look-alike and take it down, put the
 * right-level drill's document in ~/Formation. As root, through the cage's launcher directly
 * (`localTrainingActs`, the drills' way before the split); as the unprivileged `cloison` part,
 * through the root cage manager (`training.spoof`, `training.document`: managerTrainingActs.ts),
 * whose launcher channel it is and which builds the look-alike from its own running policy.
 */
import type { LevelView } from '../../../shared/rpc';
import type { RunningCage } from '../../cages/cageDriver';
import { launch, run } from '../../cages/cageLauncher';
import { documentWriter, spoofProgram, spoofText, stopLookAlike } from '../../cages/trainingPrograms';

export type SpoofLook = 'band' | 'dialog' | 'lock';

/** A look-alike up in a cage, until `hide` (which waits for it to go). */
export interface ShownLookAlike {
  hide(): Promise<void>;
}

export interface TrainingActs {
  /** Shows the look-alike of `other`'s shell in `level`'s cage; rejects if it cannot. */
  showLookAlike(level: string, look: SpoofLook, other: LevelView): Promise<ShownLookAlike>;
  /** Writes the document to the cage's ~/Formation as the cage's user; resolves whether it was written. */
  putDocument(level: string, name: string, content: string): Promise<boolean>;
}

export function localTrainingActs(cageOf: (level: string) => RunningCage | null): TrainingActs {
  const cage = (level: string): RunningCage => {
    const found = cageOf(level);
    if (!found) throw new Error(`cage ${level} is not running`);
    return found;
  };
  return {
    showLookAlike: async (level, look, other) => {
      const running = cage(level);
      const program = await launch(running, spoofProgram(spoofText(look, other)));
      return { hide: () => stopLookAlike(running, program) };
    },
    putDocument: async (level, name, content) => (await run(cage(level), documentWriter(name, content))).code === 0,
  };
}
