/**
 * A training session started split (#29), as `npm start -- --training …` (split, its default) starts it: the
 * cage manager (its bundle, as root) passes --training, --trainee and --report-dir to its cloison
 * part, which reads the scenario and writes the report as cloison. What the trainer sees: the
 * session running under the trainee's name on the administrators' socket, and once stopped, its
 * report in the folder named (made by the manager as the part's: cloison's, 0750). A policy
 * without `training: allowed` refuses the session: the manager says so on its stdout as a start
 * that failed and stops with status 2, leaving no part behind (started again, the part would
 * refuse it again, forever).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adminCall } from './cli/adminClient';
import { startBuiltManager, type BuiltManager } from './testing/builtManager';
import { testRoot } from './testing/testRoots';
import { bwrapCage, twoLevelPolicy } from './testing/testPolicy';
import { waitFor } from './testing/waitFor';

const UIDS = { low: 58639, high: 58640 };
const SCENARIO = `version: 1
title: { fr: Essai, en: Trial }
drills:
  - kind: right-level
    card: { fr: "Ouvrez le budget DR là où il doit l'être.", en: "Open the Restricted budget where it belongs." }
    document: { name: budget-DR.txt, content: "DIFFUSION RESTREINTE" }
    expect: high
`;

let manager: BuiltManager | null = null;
const cloisonUid = () => Number(spawnSync('id', ['-u', 'cloison'], { encoding: 'utf8' }).stdout.trim());

afterEach(async () => {
  await manager?.stop();
  manager = null;
}, 90_000);

/** The manager on a fresh folder with a training session; its stdout's lines and its stderr gathered. */
function startSplit(policyExtra: string, reportDirIn?: (root: string) => string) {
  const root = testRoot('cloison-split-training-');
  chmodSync(root, 0o711); // the part (cloison) reads the policy and the scenario, reaches its folders
  writeFileSync(join(root, 'p.yaml'), twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) }, policyExtra));
  writeFileSync(join(root, 'scenario.yaml'), SCENARIO);
  const reportDir = reportDirIn ? reportDirIn(root) : join(root, 'reports');
  manager = startBuiltManager(['--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--port', '0', '--log-level', 'warn',
    '--training', join(root, 'scenario.yaml'), '--trainee', 'Alice Martin', '--report-dir', reportDir]);
  return { manager, root, reportDir };
}

describe('a training session through the cage manager', () => {
  it('the part runs it under the trainee\'s name; stopped, its report is in the folder named, cloison\'s', async () => {
    const run = startSplit('training: allowed\n');
    await waitFor(() => run.manager.lines.some((l) => l.ready === true) || run.manager.process.exitCode !== null, 'the part\'s ready line', 60_000, 100);
    expect(run.manager.lines.find((l) => l.partFailed), run.manager.stderr()).toBeUndefined();
    const admin = join(`${run.root}/run-broker`, 'admin.sock');
    const status = await adminCall(admin, 'training.status');
    expect(status).toMatchObject({ ok: true, result: { session: { trainee: 'Alice Martin' } } });
    const stopped = await adminCall(admin, 'training.stop');
    expect(stopped.ok, JSON.stringify(stopped)).toBe(true);
    const report = await adminCall(admin, 'training.status');
    if (!report.ok) throw new Error(report.error.message);
    const name = (report.result as { report: string | null }).report;
    expect(name).toBeTruthy();
    const file = join(run.reportDir, `${name!}.html`);
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).uid).toBe(cloisonUid());
    const folder = statSync(run.reportDir);
    expect([folder.uid, folder.mode & 0o777]).toEqual([cloisonUid(), 0o750]);
  }, 120_000);

  it('a report folder that exists is never given to cloison: it stays root\'s, with its mode', async () => {
    // As an administrator's typo could name /etc: a folder of root's that exists.
    const run = startSplit('training: allowed\n', (root) => {
      const existing = join(root, 'root-folder');
      mkdirSync(existing, { mode: 0o755 });
      return existing;
    });
    await waitFor(() => run.manager.lines.some((l) => l.ready === true) || run.manager.process.exitCode !== null, 'the part\'s ready line', 60_000, 100);
    const folder = statSync(run.reportDir);
    expect([folder.uid, folder.gid, folder.mode & 0o7777]).toEqual([0, 0, 0o755]);
  }, 120_000);

  it('a policy without training: allowed: the manager says the session was refused, stops with status 2, no part left', async () => {
    const run = startSplit('');
    const status = await new Promise<number | null>((r) => run.manager.process.once('exit', (code) => r(code)));
    expect(status).toBe(2);
    const failed = run.manager.lines.find((l) => l.partFailed === true);
    expect(failed?.reason, run.manager.stderr()).toMatch(/^training refused: .*training/);
    expect(run.manager.lines.some((l) => l.ready === true)).toBe(false);
    // This manager's part (other tests' parts may run meanwhile): started, then gone with it.
    const partPid = Number(/"msg":"cloison part started","pid":(\d+)/.exec(run.manager.stderr())?.[1]);
    expect(partPid).toBeGreaterThan(0);
    expect(existsSync(`/proc/${partPid}`)).toBe(false);
  }, 120_000);
});
