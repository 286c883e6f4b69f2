/**
 * A trainer on a packaged workstation, with `cloison training …` on the admin socket: a policy
 * without `training: allowed` refuses, a malformed scenario is refused with file:line:column and
 * starts nothing, a session starts (the shells get the mark), a second one is refused while it
 * runs, `stop` ends it (the shells lose the mark, the running drill is tidied up and counted) and
 * `report --out` writes the report where the trainer asked, with the numbers of what happened.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainingView } from '../../shared/trainingScenario';
import { adminCall } from '../cli/adminClient';
import { runCliWithSupervisor } from '../cli/cloison';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { twoLevelPolicy, vncCage } from '../testing/testPolicy';

const SCENARIO = `version: 1
title: { fr: Essai, en: Trial }
drills:
  - kind: right-level
    card: { fr: "Ouvrez la note DR.", en: "Open the Restricted memo." }
    document: { name: note-DR.txt, content: "DR" }
    expect: high
  - kind: right-level
    card: { fr: "Ouvrez la plaquette.", en: "Open the leaflet." }
    document: { name: plaquette.txt, content: "public" }
    expect: low
`;

async function cli(t: TestSupervisor, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCliWithSupervisor([...args, '--socket', t.sup.adminSocketPath], (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('cloison training, on the admin socket', () => {
  const cages = { low: vncCage('/nonexistent/low.sock'), high: vncCage('/nonexistent/high.sock') };
  let t: TestSupervisor;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cloison-trainer-'));
    writeFileSync(join(dir, 'essai.yaml'), SCENARIO);
    writeFileSync(join(dir, 'broken.yaml'), SCENARIO.replace('expect: low', 'expect: middle'));
    t = await startTestSupervisor(twoLevelPolicy(cages, 'training: allowed\n'));
  });
  afterAll(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a policy that does not allow training refuses the trainer, saying why', async () => {
    const plain = await startTestSupervisor(twoLevelPolicy(cages));
    try {
      const r = await cli(plain, 'training', 'start', join(dir, 'essai.yaml'), '--trainee', 'Alice');
      expect(r.code).toBe(1);
      expect(r.err).toContain('REFUSED: this policy does not allow training sessions');
      expect((await plain.rpc.call('session.describe', {})).result.training).toBeNull();
    } finally {
      await plain.stop();
    }
  });

  it('refuses a malformed scenario with its place, and bad parameters with what they should be', async () => {
    const r = await cli(t, 'training', 'start', join(dir, 'broken.yaml'), '--trainee', 'Alice');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/broken\.yaml:11:13: drills\[1\]\.expect: no level "middle" in the running policy/);
    expect((await t.rpc.call('session.describe', {})).result.training).toBeNull();
    expect(await adminCall(t.sup.adminSocketPath, 'training.start', { scenarioFile: '/etc/shadow' })).toMatchObject({ ok: false, error: { code: 'REFUSED', message: expect.stringContaining('scenarioText') } });
  });

  it('starts, refuses a second session, stops with the drill in course counted, and hands the report over', async () => {
    const marked = t.rpc.next('onTraining') as Promise<TrainingView | null>;
    const started = await cli(t, 'training', 'start', join(dir, 'essai.yaml'), '--trainee', 'Alice Martin');
    expect(started).toMatchObject({ code: 0, out: expect.stringContaining('training session started for Alice Martin') });
    expect(await marked).toMatchObject({ phase: 'intro', trainee: 'Alice Martin', total: 2 });
    expect(t.records().at(-1)).toMatchObject({ kind: 'training.start', actor: 'admin', trainee: 'Alice Martin', drills: 2 });

    const again = await cli(t, 'training', 'start', join(dir, 'essai.yaml'), '--trainee', 'Bob');
    expect(again.err).toContain('a training session is already running');

    // The trainee does the first drill right, and is in the second when the trainer stops.
    for (const id of ['begin', 'open:high', 'continue']) {
      expect(await t.rpc.call('training.answer', { id })).toMatchObject({ ok: true, result: { accepted: true } });
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await cli(t, 'training', 'status')).out).toMatch(/phase: running[\s\S]*drill: 2 \/ 2[\s\S]*passed: right-level/);

    const unmarked = new Promise<null>((resolve) => t.rpc.events.on('onTraining', (v: TrainingView | null) => v === null && resolve(null)));
    const stopped = await cli(t, 'training', 'stop');
    expect(stopped).toMatchObject({ code: 0, out: expect.stringContaining('its report:') });
    await unmarked;
    expect((await t.rpc.call('session.describe', {})).result.training).toBeNull();
    expect(t.records().map((r) => r.kind)).toContain('training.stop');
    expect((await t.rpc.call('training.answer', { id: 'open:low' })).error).toMatchObject({ code: 'WRONG_STATE' });

    const out = join(dir, 'reports');
    const fetched = await cli(t, 'training', 'report', '--out', out);
    expect(fetched.code).toBe(0);
    const [html, json] = fetched.out.split('\n');
    const report = JSON.parse(readFileSync(json!, 'utf8'));
    expect(report).toMatchObject({ trainee: 'Alice Martin', passed: 1, total: 2, inScenario: 2 });
    expect(report.drills[1]).toMatchObject({ passed: false, details: { en: 'no level chosen in time' } });
    expect(readFileSync(html!, 'utf8')).toContain('FORMATION / TRAINING');

    // A new trainee may start now.
    expect((await cli(t, 'training', 'start', join(dir, 'essai.yaml'), '--trainee', 'Bob')).code).toBe(0);
    await cli(t, 'training', 'stop');
  });
});
