/**
 * The trainer's desk: at most one training session at a time, started at launch (`--training`) or
 * by the trainer over the admin socket (`cloison training start`), stopped by them, its report
 * handed back. Every start and stop is journaled with who asked; a policy that does not say
 * `training: allowed` refuses a session, and one reloaded to forbid training ends the session.
 */
import { readFileSync } from 'node:fs';
import type { PolicyReader } from '../policy/policyReader';
import type { FlowItem } from '../../shared/rpc';
import type { TrainingView } from '../../shared/trainingScenario';
import type { AuditRecord } from '../audit/auditJournal';
import type { DrillContext } from './drills/drill';
import { flowItemOf } from './flowItems';
import { parseScenario } from './scenarioLoader';
import { TrainingSession } from './trainingSession';

/** The policy does not allow training, or one is already running: nothing started. */
export class TrainingRefused extends Error {}

export interface TrainingRequest {
  /** The scenario's text, and the file it came from (for file:line:column in every problem). */
  scenarioText: string;
  scenarioFile: string;
  trainee: string;
  /** Where the report goes; the desk's own folder when unset. */
  reportDir?: string;
}

export interface TrainingDeskOptions {
  policy: PolicyReader;
  context: DrillContext;
  reportDir: string;
  record: (kind: string, fields: Record<string, string | number | boolean>, actor: 'supervisor' | 'admin') => void;
  /** The shells: the session's view (null once stopped: the band loses its mark), and each flow. */
  onView: (view: TrainingView | null) => void;
  onFlow: (flow: FlowItem) => void;
}

export const MAX_SCENARIO_BYTES = 256 * 1024;

export class TrainingDesk {
  private session: TrainingSession | null = null;
  private lastReport: string | null = null;

  constructor(private readonly options: TrainingDeskOptions) {}

  get current(): TrainingSession | null {
    return this.session;
  }

  view(): TrainingView | null {
    return this.session?.view() ?? null;
  }

  /** Starts a session; throws TrainingRefused or the scenario's PolicyError, and then nothing started. */
  start(request: TrainingRequest, actor: 'supervisor' | 'admin'): TrainingView {
    const policy = this.options.policy.current();
    if (policy.training !== 'allowed') throw new TrainingRefused('this policy does not allow training sessions: its administrator must write `training: allowed`');
    if (this.session && this.session.view().phase !== 'finished') throw new TrainingRefused('a training session is already running: stop it first (`cloison training stop`)');
    if (Buffer.byteLength(request.scenarioText) > MAX_SCENARIO_BYTES) throw new TrainingRefused(`${request.scenarioFile}: a scenario is at most ${MAX_SCENARIO_BYTES / 1024} KiB`);
    const trainee = request.trainee.replace(/[\p{C}]/gu, '').trim().slice(0, 80) || 'stagiaire';
    const scenario = parseScenario(request.scenarioText, request.scenarioFile, policy);
    const session = new TrainingSession({
      scenario,
      trainee,
      reportDir: request.reportDir ?? this.options.reportDir,
      context: this.options.context,
      record: (kind, fields) => this.options.record(kind, fields, 'supervisor'),
    });
    session.on('change', (view) => {
      if (view.phase === 'finished') this.lastReport = session.reportFile ?? this.lastReport;
      this.options.onView(view);
    });
    this.session = session;
    this.options.record('training.start', { trainee, scenario: scenario.title.en, drills: scenario.drills.length }, actor);
    this.options.onView(session.view());
    return session.view();
  }

  /** Reads a scenario file as the supervisor (for `--training` at launch) and starts it. */
  startFromFile(file: string, trainee: string, reportDir: string): TrainingView {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new TrainingRefused(`${file}: cannot read the scenario: ${(err as Error).message}`);
    }
    return this.start({ scenarioText: text, scenarioFile: file, trainee, reportDir }, 'supervisor');
  }

  /** Ends the session: its running drill tidied up, its report written; the band loses its mark. */
  async stop(actor: 'supervisor' | 'admin', reason: string): Promise<{ report: string | null }> {
    const session = this.session;
    if (!session) return { report: this.lastReport };
    await session.stop();
    this.lastReport = session.reportFile ?? this.lastReport;
    this.session = null;
    this.options.record('training.stop', { reason, ...(this.lastReport ? { report: this.lastReport } : {}) }, actor);
    this.options.onView(null);
    return { report: this.lastReport };
  }

  /** The last report written, as JSON and printable HTML (for `cloison training report`). */
  report(): { name: string; json: string; html: string } | null {
    if (!this.lastReport) return null;
    const html = this.lastReport;
    return { name: html.replace(/^.*\//, '').replace(/\.html$/, ''), html: readFileSync(html, 'utf8'), json: readFileSync(html.replace(/\.html$/, '.json'), 'utf8') };
  }

  /** Every journal record: the running drill watches it, the flow view draws it. */
  observe(record: AuditRecord): void {
    if (!this.session) return;
    this.session.observe(record);
    const flow = flowItemOf(record);
    if (flow) this.options.onFlow(flow);
  }

  /** A reloaded policy: one that no longer allows training ends the session. */
  policyChanged(): void {
    if (this.session && this.options.policy.current().training !== 'allowed') void this.stop('supervisor', 'the policy no longer allows training');
  }
}
