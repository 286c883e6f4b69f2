/**
 * `systemctl reload` sends SIGHUP: the supervisor re-reads its policy, refuses an invalid one with
 * a clear journal record, and keeps running with the policy it has. Runs the built supervisor.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { testRoot } from './testing/realCage';
import { bwrapCage, twoLevelPolicy } from './testing/testPolicy';

describe('policy reload on SIGHUP', () => {
  it('refuses a broken policy, keeps running, and records a valid change', async () => {
    const root = testRoot();
    const policy = join(root, 'policy.yaml');
    const good = twoLevelPolicy({ low: bwrapCage({ uid: 62851 }), high: bwrapCage({ uid: 62852 }) });
    writeFileSync(policy, good);
    const sup = spawn(process.execPath, ['out/supervisor/main.js', '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => createInterface({ input: sup.stdout! }).once('line', r));
    const reloads = () =>
      readFileSync(join(root, 's', 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((r) => r.kind === 'policy.reload');
    const waitFor = async (n: number) => {
      for (let i = 0; i < 100 && reloads().length < n; i++) await new Promise((r) => setTimeout(r, 50));
    };

    writeFileSync(policy, good.replace('colour: "#1b7f3b"', 'colour: green'));
    sup.kill('SIGHUP');
    await waitFor(1);
    expect(reloads()[0]).toMatchObject({ actor: 'admin', decision: 'refused', reason: expect.stringContaining(`${policy}:6:13: levels[0].colour: colour is #RRGGBB`) });
    expect(sup.exitCode).toBeNull();

    writeFileSync(policy, good.replace('{ fr: Bas, en: Low }', '{ fr: Bas, en: Low side }'));
    sup.kill('SIGHUP');
    await waitFor(2);
    expect(reloads()[1]).toMatchObject({ decision: 'pending-restart', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(sup.exitCode).toBeNull();

    sup.kill('SIGTERM');
    await new Promise((r) => sup.once('exit', r));
  });
});
