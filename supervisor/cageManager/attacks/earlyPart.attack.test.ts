/**
 * Attack (#29, the split's start): the cage manager starts its `cloison` part before its own start
 * (managerMain.ts), so a compromised part runs while the manager has not yet read its policy. As
 * one would, it asks at once and again and again (earlyPartAsker.testTool.ts). The manager's policy
 * here is a FIFO the test writes only once the part has been seen asking: the manager is held in
 * its policy's read exactly as long as the test likes. Nothing may be served meanwhile — no
 * connection taken, let alone a request answered on an absent policy; once the policy is written,
 * the part's requests are decided on it (a level it names passes the policy's check, one it does
 * not is refused); a policy refused ends the manager and its part, the part never connected.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { testRoot } from '../../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { waitFor } from '../../testing/waitFor';

const REPO = resolve(__dirname, '..', '..', '..');
/** Where earlyPartAsker.testTool.ts writes its steps, in the part's state folder. */
const EARLY_ASKER_LOG = 'early-asker.log';
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 58528 }), high: bwrapCage({ uid: 58529 }) });
const roots: string[] = [];
const managers: ChildProcess[] = [];

async function stopManagers(): Promise<void> {
  for (const manager of managers) {
    if (manager.exitCode !== null || manager.signalCode !== null) continue;
    const gone = new Promise((r) => manager.once('exit', r));
    manager.kill('SIGTERM');
    await gone;
  }
}

afterAll(async () => {
  await stopManagers();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
}, 60_000);

type Step = { at: number; step: string; code?: string; level?: string; result?: unknown };

/** The manager started on a FIFO as its policy, and its part seen asking before the policy is read. */
async function managerHeldOnItsPolicy(): Promise<{ manager: ChildProcess; fifo: string; steps: () => Step[]; stdout: string[]; stderr: () => string }> {
  const root = testRoot('cloison-early-part-');
  roots.push(root);
  chmodSync(root, 0o711);
  const fifo = join(root, 'policy.yaml');
  expect(spawnSync('mkfifo', ['-m', '0644', fifo]).status).toBe(0);
  const manager = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'supervisor/cageManager/managerMain.ts'), '--policy', fifo, '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--part', join(__dirname, 'earlyPartAsker.testTool.ts')], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  managers.push(manager);
  const stdout: string[] = [];
  let stderr = '';
  manager.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: manager.stdout! }).on('line', (line) => stdout.push(line));
  const log = join(root, 'state-broker', EARLY_ASKER_LOG);
  const steps = (): Step[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Step) : []);
  // The part runs and has tried the socket while the manager waits on its policy (or, on a manager
  // that served before its policy, got a connection: the tests below fail on it).
  await waitFor(() => steps().some((s) => s.step === 'not connected' || s.step === 'connected') || manager.exitCode !== null, 'the part asking before the policy is read', 60_000, 50);
  await new Promise((r) => setTimeout(r, 300));
  return { manager, fifo, steps, stdout, stderr: () => stderr };
}

describe('a part started before the manager has read its policy', () => {
  it('is held: no connection until the policy is read and checked, then its requests are decided on that policy', async () => {
    const { manager, fifo, steps, stdout, stderr } = await managerHeldOnItsPolicy();
    console.log(`before the policy: ${JSON.stringify(steps())}`);
    expect(steps()[0]?.step).toBe('started');
    expect(steps().filter((s) => s.step === 'not connected').length).toBeGreaterThanOrEqual(1);
    expect(steps().some((s) => s.step === 'connected' || s.step === 'answer')).toBe(false);
    expect(stdout).toEqual([]); // the manager has said nothing: it does not listen

    const written = Date.now();
    writeFileSync(fifo, POLICY);
    await waitFor(() => steps().filter((s) => s.step === 'answer').length === 2 || manager.exitCode !== null, 'the part\'s two answers', 60_000, 50);
    console.log(`after the policy: ${JSON.stringify(steps())} ${stderr().slice(-2000)}`);
    const connected = steps().find((s) => s.step === 'connected')!;
    expect(connected.at).toBeGreaterThanOrEqual(written);
    expect(JSON.parse(stdout[0]!) as { listening?: boolean }).toMatchObject({ listening: true });
    // `low` is the written policy's: past its check (the cage is not running); `zeta` is refused by it.
    const answer = (level: string) => steps().find((s) => s.step === 'answer' && s.level === level)!;
    expect(answer('low').code).not.toBe('POLICY_DENIED');
    expect(answer('zeta').code).toBe('POLICY_DENIED');
    await stopManagers(); // its part with it: the next test looks for any part of this script left
  }, 120_000);

  it('a policy refused ends the manager and the part it started early, which never connected', async () => {
    const { manager, fifo, steps, stdout, stderr } = await managerHeldOnItsPolicy();
    const exited = new Promise<number | null>((r) => (manager.exitCode !== null ? r(manager.exitCode) : manager.once('exit', (code) => r(code))));
    writeFileSync(fifo, POLICY.replace('uid: 58528', 'uid: 0'));
    expect(await exited).toBe(2);
    console.log(`refused: ${JSON.stringify(steps())} ${stderr().slice(-1500)}`);
    expect(stderr()).toContain('policy refused, nothing started');
    expect(stdout.some((l) => l.includes('"listening"'))).toBe(false);
    expect(steps().some((s) => s.step === 'connected' || s.step === 'answer')).toBe(false);
    // The part went with the manager: no process of its script is left.
    await waitFor(() => !spawnSync('pgrep', ['-f', 'earlyPartAsker.testTool'], { encoding: 'utf8' }).stdout.trim(), 'the early part gone', 10_000, 100);
  }, 120_000);
});
