/**
 * What a drill is to the training session: it starts against the real cages, offers the trainee
 * answers on its card, watches the journal (what really crossed, what the user decided, what they
 * reported), says when its outcome is known, and then reports it and tidies up after itself.
 */
import type { DrillResult, TrainingText } from '../../../shared/trainingScenario';
import type { LevelView } from '../../../shared/rpc';
import type { AuditRecord } from '../../audit/auditJournal';
import type { RunningCage } from '../../cages/cageDriver';
import { localTrainingActs, type TrainingActs } from './trainingActs';

export interface DrillAnswer {
  id: string;
  label: TrainingText;
  level: string | null;
}

export interface DrillContext {
  levels: LevelView[];
  /** A running bwrap cage of that level, to run the drill's programs in (cageLauncher.ts); null otherwise. */
  cage(level: string): RunningCage | null;
  /** How the look-alike and the document reach a cage: through the cage manager in the `cloison` part; absent, the cage's launcher here (trainingActs.ts). */
  training?: TrainingActs;
  /** Key presses the gateway delivered to that cage so far (the trusted side's count). */
  keyPresses(level: string): number;
  writeClipboard(level: string, text: string): Promise<void>;
  /** Plugs a training key (a loop device over an ext4 image); its serial is how the journal names it. */
  plugKey(spec: { label: string; files: Record<string, string>; sizeMiB: number }): Promise<{ serial: string; unplug(): Promise<void> }>;
  /** Resolves once the device broker is done with that key (attached, failed, left): pulling it out mid-mount would fail the mount. */
  deviceSettled(serial: string): Promise<void>;
  now(): number;
}

export type Outcome = Omit<DrillResult, 'index' | 'kind'>;

export interface RunningDrill {
  answers: DrillAnswer[];
  answer(id: string): void;
  observe(record: AuditRecord): void;
  /** Resolves once the drill's outcome is known (an answer, a report, a decision). */
  finished: Promise<void>;
  /** The outcome (at `finished`, or when the time ran out), after tidying up. */
  conclude(timedOut: boolean): Promise<Outcome>;
}

/** A promise and the function that resolves it. */
export function signal(): { promise: Promise<void>; fire(): void } {
  let fire = () => undefined as void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

/** A level's name in both languages, as the band shows it (the id if the policy has no such level). */
export function levelName(ctx: DrillContext, id: string): TrainingText {
  return ctx.levels.find((l) => l.id === id)?.label ?? { fr: id, en: id };
}

/** Seconds between two clock readings, to a tenth. */
export function secondsBetween(from: number, to: number): number {
  return Math.round((to - from) / 100) / 10;
}

/** The drill's acts in a cage: the context's, else through the cage's launcher here. */
export function trainingActsOf(ctx: DrillContext): TrainingActs {
  return ctx.training ?? localTrainingActs((level) => ctx.cage(level));
}
