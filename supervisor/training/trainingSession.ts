/**
 * A training session: the scenario's drills, one after the other, against the real cages. Each
 * drill's card is shown in the shell's training panel (trusted pixels, the band marked TRAINING);
 * its outcome comes from what really happened — the journal, the trainee's answers — and is shown
 * to the trainee before the next one. At the end, the report is written where the trainer asked
 * and the journal says so.
 */
import { EventEmitter } from 'node:events';
import type { DrillResult, Scenario, TrainingText, TrainingView } from '../../shared/trainingScenario';
import type { AuditRecord } from '../audit/auditJournal';
import { startDowngradeDrill } from './drills/downgradeDrill';
import { signal, type DrillContext, type RunningDrill } from './drills/drill';
import { startRightLevelDrill } from './drills/rightLevelDrill';
import { startSpoofDrill } from './drills/spoofDrill';
import { startUsbDrill } from './drills/usbDrill';
import { buildReport, writeReport } from './trainingReport';

export interface TrainingOptions {
  scenario: Scenario;
  trainee: string;
  reportDir: string;
  context: DrillContext;
  record: (kind: string, fields: Record<string, string | number | boolean>) => void;
}

const CONTINUE = { id: 'continue', label: { fr: 'Continuer', en: 'Continue' }, level: null };
const BEGIN = { id: 'begin', label: { fr: 'Commencer', en: 'Begin' }, level: null };

export class TrainingSession extends EventEmitter<{ change: [TrainingView] }> {
  private current = 0;
  private phase: TrainingView['phase'] = 'intro';
  private running: RunningDrill | null = null;
  private readonly results: DrillResult[] = [];
  private report: string | null = null;
  private readonly startedAt = new Date();
  /** Fired by stop(): the running drill ends as if its time had run out. */
  private readonly stopRequested = signal();
  private stopping = false;
  private drillRun: Promise<void> | null = null;

  constructor(private readonly options: TrainingOptions) {
    super();
  }

  view(): TrainingView {
    const { scenario, trainee } = this.options;
    const drill = scenario.drills[this.current];
    const last = this.results.at(-1);
    const card =
      this.phase === 'intro'
        ? (scenario.intro ?? scenario.title)
        : this.phase === 'running' && drill
          ? drill.card
          : this.phase === 'feedback' && last
            ? feedbackCard(last)
            : null;
    const answers = this.phase === 'intro' ? [BEGIN] : this.phase === 'feedback' ? [CONTINUE] : this.phase === 'running' ? (this.running?.answers ?? []) : [];
    return { title: scenario.title, trainee, current: this.current, total: scenario.drills.length, phase: this.phase, card, answers, results: [...this.results], report: this.report };
  }

  /**
   * The trainee's answer on the card: begin, a drill's answer, or continue after the feedback.
   * The new view reaches the shell as a change event (never as this call's result, which could
   * arrive after a later change); `starting` is set at once so a second click cannot skip a drill.
   */
  answer(id: string): { accepted: boolean } {
    if (this.phase === 'running' && this.running?.answers.some((a) => a.id === id)) {
      this.running.answer(id);
      return { accepted: true };
    }
    const next = this.phase === 'intro' && id === BEGIN.id ? this.current : this.phase === 'feedback' && id === CONTINUE.id ? this.current + 1 : null;
    if (next === null) return { accepted: false };
    this.current = next;
    if (next < this.options.scenario.drills.length) {
      this.phase = 'starting';
      this.changed();
      this.drillRun = this.runDrill();
    } else this.finish();
    return { accepted: true };
  }

  /**
   * Ends the session now (the trainer's `cloison training stop`): a running drill is concluded as
   * if its time had run out and tidied up, and the report holds the drills done so far.
   */
  async stop(): Promise<void> {
    if (this.phase === 'finished') return;
    this.stopping = true;
    this.stopRequested.fire();
    await this.drillRun;
    this.finish();
  }

  /** Where the report went, once the session finished (null before, or if it could not be written). */
  get reportFile(): string | null {
    return this.report?.endsWith('.html') ? this.report : null;
  }

  /** Every journal record, while a drill runs: what crossed, what was decided, what was reported. */
  observe(record: AuditRecord): void {
    this.running?.observe(record);
  }

  private async runDrill(): Promise<void> {
    const index = this.current;
    const drill = this.options.scenario.drills[index]!;
    const ctx = this.options.context;
    let running: RunningDrill;
    try {
      running =
        drill.kind === 'spoof'
          ? await startSpoofDrill(drill, ctx)
          : drill.kind === 'right-level'
            ? await startRightLevelDrill(drill, ctx)
            : drill.kind === 'downgrade'
              ? await startDowngradeDrill(drill, ctx)
              : await startUsbDrill(drill, ctx);
    } catch (err) {
      const why = (err as Error).message;
      this.results.push({ index, kind: drill.kind, passed: false, seconds: null, details: { fr: `l'exercice n'a pas pu démarrer : ${why}`, en: `the drill could not start: ${why}` }, review: null, typedIntoFake: null });
      if (this.stopping) return;
      this.phase = 'feedback';
      this.changed();
      return;
    }
    this.running = running;
    this.phase = 'running';
    this.options.record('training.drill', { index, kind: drill.kind, step: 'started' });
    this.changed();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      running.finished.then(() => false),
      this.stopRequested.promise.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), drill.timeLimitSeconds * 1000))),
    ]);
    clearTimeout(timer);
    const outcome = await running.conclude(timedOut);
    this.running = null;
    this.results.push({ index, kind: drill.kind, ...outcome });
    this.options.record('training.drill', { index, kind: drill.kind, step: 'done', passed: outcome.passed, ...(outcome.seconds !== null ? { seconds: outcome.seconds } : {}) });
    if (this.stopping) return; // stop() finishes the session
    this.phase = 'feedback';
    this.changed();
  }

  private finish(): void {
    if (this.phase === 'finished') return;
    const report = buildReport(this.options.scenario, this.options.trainee, this.startedAt, this.results);
    try {
      this.report = writeReport(this.options.reportDir, report);
    } catch (err) {
      this.report = `not written: ${(err as Error).message}`;
    }
    this.options.record('training.report', { trainee: this.options.trainee, passed: report.passed, total: report.total, file: this.report });
    this.phase = 'finished';
    this.changed();
  }

  private changed(): void {
    this.emit('change', this.view());
  }
}

function feedbackCard(result: DrillResult): TrainingText {
  if (result.passed) return { fr: `Réussi. ${result.details.fr}`, en: `Passed. ${result.details.en}` };
  const review = result.review ?? { fr: '', en: '' };
  return { fr: `À revoir. ${result.details.fr}. ${review.fr}`, en: `To review. ${result.details.en}. ${review.en}` };
}
