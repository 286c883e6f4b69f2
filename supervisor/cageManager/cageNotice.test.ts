/**
 * `cage.notice`: the limits a cage reached, told to RemoteCageDriver's `onNotice` in a real
 * `cloison` part by a real CageManagerServer running the real executor, on a real bwrap cage whose
 * driver watches its home. What the part sees:
 *   - the cage's home filled (a cage process writes until the disk is full): "home full (64 MiB)",
 *     then emptied: the notice that clears it (an empty message), in that order, each once;
 *   - the first notice asked again afterwards (a part restarted): still held by the manager;
 *   - the other level (no cage running): answered ended at once, nothing of this level's; a level
 *     the policy does not name refused and journaled;
 *   - twenty requests left pending at once, then the cage stopped: all twenty answered ended (the
 *     manager kept one wait for them), no notice told after the end.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { launcherShell } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { cageNoticeExecutor } from './cageNoticeExecutor';
import { ManagedCages } from './managedCages';

const LOW_UID = 58536;
const HIGH_UID = 58537;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, limits: SMALL }), high: bwrapCage({ uid: HIGH_UID, limits: SMALL }) });

let manager: ServedManager;
const cages = new ManagedCages();
const reports: Array<{ step: string; answer?: unknown; notice?: unknown } & Record<string, unknown>> = [];
const seen = { fill: '', empty: '' };

const step = (name: string) => reports.find((r) => r.step === name);

/** The cage's home filled by a cage process, then, once the part was told, emptied. */
async function fillThenEmpty(): Promise<void> {
  const sh = launcherShell(cages.cage('low')!);
  seen.fill = (await sh('dd if=/dev/zero of="$HOME/fill" bs=1M count=80 2>&1; echo "dd=$?"', 30_000)).stdout;
  await waitFor(() => reports.some((r) => r.step === 'notice'), 'the part told the home is full', 20_000);
  seen.empty = (await sh('rm -f "$HOME/fill"; echo emptied')).stdout;
}

beforeAll(async () => {
  manager = await serveManagerToCloison({
    prefix: 'cloison-cn-', policy: POLICY, cages, holdsCage: true,
    executors: ({ cageExecutors }) => ({
      ...cageExecutors,
      'cage.notice': cageNoticeExecutor({ cages }),
    }),
  });
  await manager.runPart(join(__dirname, '../testing/noticeRequester.ts'), { managerSocket: manager.socketPath, level: 'low', uid: LOW_UID, otherLevel: 'high', policy: POLICY, ...manager.folders }, {
    message: (m, fail) => {
      reports.push(m as never);
      if (m.step === 'started') fillThenEmpty().catch(fail);
    },
  });
  console.log(JSON.stringify(reports), JSON.stringify(seen));
}, 120_000);

afterAll(async () => {
  await manager?.close();
}, 60_000);

describe('cage.notice, asked by the cloison part through RemoteCageDriver.onNotice', () => {
  it('tells the part its cage\'s home is full, then that it has room again, in that order, each once', () => {
    expect(seen.fill).toMatch(/No space left on device/);
    expect(seen.empty).toBe('emptied\n');
    expect(reports.filter((r) => r.step === 'notice').map((r) => r.notice)).toEqual([
      { limit: 'home', message: 'home full (64 MiB): programs in this cage cannot save' },
      { limit: 'home', message: '' },
    ]);
  });

  it('keeps the first notice for a part that asks again; the other level is answered ended; an unnamed level is refused and journaled', () => {
    expect(step('first again')!.answer).toEqual({ seq: expect.any(Number), notice: { limit: 'home', message: 'home full (64 MiB): programs in this cage cannot save' } });
    expect(step('other level')!.answer).toEqual({ ended: true });
    expect(step('unnamed level')).toMatchObject({ code: 'POLICY_DENIED' });
    expect(manager.refusals()).toEqual([expect.objectContaining({ op: 'cage.notice', peerUid: manager.cloison.uid })]);
  });

  it('twenty requests pending at once are all answered ended when the cage stops; no notice is told after the end', () => {
    expect(step('stop')!.answer).toMatchObject({ reason: expect.any(String) });
    expect(step('twenty pending')!.answer).toEqual(Array(20).fill({ ended: true }));
    expect(step('notices after the end')).toMatchObject({ count: 2 });
  });
});
