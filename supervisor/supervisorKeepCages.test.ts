/**
 * `stop({ keepCages: true })`, as the unit stops for a restart or an upgrade (--keep-cages-on-stop):
 * everything of the supervisor stops but the cages, which run on and are re-adopted by the next
 * supervisor (the same Xvnc); a plain stop after that takes them down.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSameProcess, type CageRecord } from './cages/cageRecord';
import { parsePolicy } from './policy/policyLoader';
import { Supervisor } from './supervisor';
import { testRoot } from './testing/realCage';
import { bwrapCage, twoLevelPolicy } from './testing/testPolicy';

describe('a supervisor stopped keeping its cages', () => {
  const root = testRoot();
  const policyText = twoLevelPolicy({ low: bwrapCage({ uid: 59893 }), high: bwrapCage({ uid: 59894 }) });
  const supervisor = () =>
    new Supervisor({ policy: parsePolicy(policyText, 'p.yaml'), policySource: 'p.yaml', policyText, stateDir: join(root, 'state'), runDir: join(root, 'run'), rendererDir: null });
  const recordOf = (level: string) => JSON.parse(readFileSync(join(root, 'run', 'cages', level, 'cage.json'), 'utf8')) as CageRecord;
  const journal = () => readFileSync(join(root, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; level?: string });
  let running: Supervisor | null = null;

  afterAll(async () => {
    await running?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('leaves the cages running for the next supervisor, which re-adopts them; a plain stop ends them', async () => {
    running = supervisor();
    await running.start();
    const xvnc = { low: recordOf('low').xvnc, high: recordOf('high').xvnc };
    await running.stop({ keepCages: true });
    running = null;
    expect(isSameProcess(xvnc.low) && isSameProcess(xvnc.high)).toBe(true);

    running = supervisor();
    await running.start();
    expect(journal().filter((r) => r.kind === 'cage.adopted').map((r) => r.level).sort()).toEqual(['high', 'low']);
    expect([recordOf('low').xvnc, recordOf('high').xvnc]).toEqual([xvnc.low, xvnc.high]);

    await running.stop();
    running = null;
    expect(isSameProcess(xvnc.low) || isSameProcess(xvnc.high)).toBe(false);
  }, 90_000);
});
