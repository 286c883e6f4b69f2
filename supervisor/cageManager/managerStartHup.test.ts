/**
 * An administrator's reload (SIGHUP: the unit's ExecReload) sent while the cage manager starts,
 * before it listens: it must not end the manager (SIGHUP's default). Seen before: a reload sent as
 * the manager said it started its cages killed it, its cages with it. Now it is held and run once
 * the manager can read its policy again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { logRecords } from '../testing/logRecords';

const REPO = resolve(__dirname, '..', '..');
let manager: ChildProcess | null = null;

afterAll(async () => {
  if (manager && manager.exitCode === null && manager.signalCode === null) {
    const gone = new Promise((r) => manager!.once('exit', r));
    manager.kill('SIGTERM');
    await gone;
  }
}, 60_000);

describe('the cage manager reloaded while it starts', () => {
  it('a SIGHUP at its first log line, before it listens: it still listens, and reads the policy again once it can', async () => {
    const root = testRoot('cloison-hup-');
    chmodSync(root, 0o711);
    const policyFile = join(root, 'policy.yaml');
    writeFileSync(policyFile, twoLevelPolicy({ low: bwrapCage({ uid: 58542 }), high: bwrapCage({ uid: 58543 }) }));
    manager = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'supervisor/cageManager/managerMain.ts'), '--policy', policyFile, '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--no-part', '--log-level', 'info'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    // Its first line ("no password is checked…") comes before its media mounts, its server and its signal handling.
    manager.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && logRecords(stderr).length > 0) {
        sent = true;
        manager!.kill('SIGHUP');
      }
    });
    const listening = await new Promise<boolean>((res) => {
      createInterface({ input: manager!.stdout! }).on('line', (line) => line.includes('"listening":true') && res(true));
      manager!.once('exit', () => res(false));
    });
    expect(sent).toBe(true);
    expect(listening).toBe(true);
    expect(manager.signalCode).toBe(null);
    await expect.poll(() => logRecords(stderr).some((r) => r.msg === 'policy reloaded'), { timeout: 10_000 }).toBe(true);
  }, 60_000);
});
