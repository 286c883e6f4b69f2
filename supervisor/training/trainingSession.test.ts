/**
 * The training session's course, as a trainee clicking fast would drive it: a second "continue"
 * while the next drill is being set up does not skip it; an answer that is not on the card is not
 * taken; outcomes come from the journal records the drill watches; the report has the numbers and
 * the journal says where it went.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LevelView } from '../../shared/rpc';
import type { Scenario, TrainingView } from '../../shared/trainingScenario';
import type { AuditRecord } from '../audit/auditJournal';
import type { DrillContext } from './drills/drill';
import { TrainingSession } from './trainingSession';

const LEVELS = [
  { id: 'low', label: { fr: 'Bas', en: 'Low' } },
  { id: 'high', label: { fr: 'Haut', en: 'High' } },
] as unknown as LevelView[];

const SCENARIO: Scenario = {
  version: 1,
  title: { fr: 'Essai', en: 'Trial' },
  drills: [
    { kind: 'right-level', card: { fr: 'Ouvrez', en: 'Open' }, document: { name: 'a.txt', content: 'DR' }, expect: 'high', timeLimitSeconds: 60 },
    { kind: 'downgrade', from: 'high', to: 'low', content: 'calendrier', card: { fr: 'Collez', en: 'Paste' }, timeLimitSeconds: 60 },
  ],
};

describe('training session', () => {
  let dir: string;
  let views: TrainingView[];
  let journal: Array<[string, Record<string, unknown>]>;
  let clipboards: Array<[string, string]>;
  let session: TrainingSession;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cloison-session-'));
    views = [];
    journal = [];
    clipboards = [];
    const context: DrillContext = {
      levels: LEVELS,
      cage: () => null,
      keyPresses: () => 0,
      writeClipboard: async (level, text) => void clipboards.push([level, text]),
      plugKey: () => Promise.reject(new Error('no keys in this test')),
      deviceSettled: async () => undefined,
      now: () => Date.now(),
    };
    session = new TrainingSession({ scenario: SCENARIO, trainee: 'Alice', reportDir: dir, context, record: (kind, fields) => void journal.push([kind, fields]) });
    session.on('change', (v) => views.push(v));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const phase = () => session.view().phase;
  const settle = () => new Promise((r) => setTimeout(r, 20));

  it('a double "continue" runs the next drill once; answers off the card are not taken; the report counts what happened', async () => {
    expect(session.answer('continue')).toEqual({ accepted: false }); // nothing to continue from the intro
    expect(session.answer('begin')).toEqual({ accepted: true });
    await settle();
    expect(session.view()).toMatchObject({ phase: 'running', current: 0, card: { fr: 'Ouvrez' } });
    expect(session.answer('open:nowhere')).toEqual({ accepted: false });
    expect(session.answer('open:low')).toEqual({ accepted: true });
    await settle();
    expect(session.view()).toMatchObject({ phase: 'feedback', card: { fr: expect.stringMatching(/^À revoir\. « a\.txt » ouvert dans Bas \(attendu : Haut\)/) } });

    expect(session.answer('continue')).toEqual({ accepted: true });
    expect(phase()).toBe('starting');
    expect(session.answer('continue')).toEqual({ accepted: false }); // the second click of a double click
    await settle();
    expect(session.view()).toMatchObject({ phase: 'running', current: 1 });
    expect(clipboards).toEqual([['high', 'calendrier']]);

    // The drill watches the journal: the trainee refused in the trusted dialog.
    session.observe({ kind: 'clipboard.paste', actor: 'user', from: 'high', to: 'low', decision: 'refused' } as unknown as AuditRecord);
    await settle();
    expect(session.view()).toMatchObject({ phase: 'feedback', current: 1 });
    expect(session.answer('continue')).toEqual({ accepted: true });
    expect(phase()).toBe('finished');

    const reportFile = session.view().report!;
    const report = JSON.parse(readFileSync(reportFile.replace(/\.html$/, '.json'), 'utf8'));
    expect(report).toMatchObject({ trainee: 'Alice', passed: 1, total: 2 });
    expect(report.drills.map((d: { passed: boolean }) => d.passed)).toEqual([false, true]);
    expect(report.toReview).toHaveLength(1);
    expect(readFileSync(reportFile, 'utf8')).toContain('« a.txt » ouvert dans Bas');
    expect(journal.map(([k, f]) => `${k}:${String(f.step ?? f.passed)}`)).toEqual([
      'training.drill:started',
      'training.drill:done',
      'training.drill:started',
      'training.drill:done',
      'training.report:1',
    ]);
    // The shell was told of every phase, the set-up one included.
    expect(views.map((v) => v.phase)).toEqual(['starting', 'running', 'feedback', 'starting', 'running', 'feedback', 'finished']);
  });

  it('a drill that cannot start is a missed drill with the reason, and the session goes on', async () => {
    const broken = new TrainingSession({
      scenario: { ...SCENARIO, drills: [SCENARIO.drills[1]!] },
      trainee: 'Bob',
      reportDir: dir,
      context: { levels: LEVELS, cage: () => null, keyPresses: () => 0, writeClipboard: () => Promise.reject(new Error('the high cage is stopped')), plugKey: () => Promise.reject(new Error('no')), deviceSettled: async () => undefined, now: () => Date.now() },
      record: () => undefined,
    });
    broken.answer('begin');
    await settle();
    expect(broken.view()).toMatchObject({ phase: 'feedback', results: [{ passed: false, details: { en: 'the drill could not start: the high cage is stopped' } }] });
    broken.answer('continue');
    expect(broken.view().phase).toBe('finished');
  });
});
