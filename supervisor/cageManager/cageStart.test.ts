/**
 * `cage.start`, `cage.stop` and `cage.wait` behind a real CageManagerServer, asked by a real process
 * of the `cloison` account. The whole path: the part (the manager's child, dropped to `cloison`)
 * starts the low level's cage — a real bwrap cage, built by the manager from the policy — takes its
 * VNC connection (`cage.vncSocket`) and hears its Xvnc, learns its end through `cage.wait` when the
 * cage is killed, starts it again and stops it. What the policy does not imply, asked as a
 * compromised part would (uid 0, another level's uid, a level the policy does not name, a level id
 * carrying a bwrap argument, a second start of a running level): refused, journaled, nothing started.
 *
 * Seen with an executor starting the driver as asked (the request's uid, no map of running cages):
 * the low level's cage started with the high level's uid 61761 had its Xvnc run as 61761 (the
 * authorization alone stood between); a second start of the running level killed the first cage
 * (the same control group, made again) and failed itself. Now the executor derives the uid again
 * from the policy it reads (a reload between the check and the start included) and reserves the level.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desktopTone } from '../../shared/cageScreenSize';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { isMountPoint } from '../cages/cageMounts';
import { parsePolicy } from '../policy/policyLoader';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { sendFramesAs } from '../testing/rawFramesAs';
import { launcherShell } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { cageStartExecutor } from './cageStartExecutor';
import { cageStopExecutor } from './cageStopExecutor';
import { ManagedCages } from './managedCages';
import { vncSocketExecutor } from './vncSocketExecutor';
import { processNamesOf } from '../testing/cageProcesses';
import { waitFor } from '../testing/waitFor';

const LOW_UID = 58750;
const HIGH_UID = 58751;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, limits: SMALL }), high: bwrapCage({ uid: HIGH_UID, limits: SMALL }) });

let manager: ServedManager;
const cages = new ManagedCages();

beforeAll(async () => {
  manager = await serveManagerToCloison({
    prefix: 'cloison-cs-', policy: POLICY, cages,
    executors: ({ part, cageExecutors }) => ({
      ...cageExecutors,
      'cage.vncSocket': vncSocketExecutor({ cage: (level) => cages.cage(level), part }),
    }),
  });
}, 30_000);

afterAll(async () => {
  await manager?.close();
}, 60_000);

/** The names of the processes running as `uid`. */
/** Only the path a Unix user can see: is anything of the level's cage running or mounted? */
function levelTraces(level: string): { mounted: boolean; running: string } {
  const paths = bwrapCagePaths(manager.folders.stateDir, manager.folders.runDir, level);
  return { mounted: isMountPoint(paths.home) || isMountPoint(paths.scratch), running: cages.state(level) };
}

describe('cage.start, cage.wait and cage.stop from the cloison part', () => {
  it('starts the level\'s real cage, whose Xvnc answers on its VNC socket; its end is learnt by cage.wait when killed; stopped, nothing stays', async () => {
    const reports: Array<Record<string, unknown>> = [];
    let innerPid = 0;
    let killedAt = 0;
    await manager.runPart(join(__dirname, '../testing/cageStartRequester.ts'), { managerSocket: manager.socketPath, level: 'low', uid: LOW_UID }, {
      message: (m) => {
        reports.push(m);
        if (m.step === 'start') innerPid = (m.result as { innerPid: number } | undefined)?.innerPid ?? 0;
        if (m.step === 'waiting') {
          // The wait is in flight; the cage dies as a crash would kill it.
          expect(innerPid).toBeGreaterThan(1);
          setTimeout(() => {
            killedAt = Date.now();
            process.kill(innerPid, 'SIGKILL');
          }, 500);
        }
      },
    });
    const step = (name: string) => reports.find((r) => r.step === name);
    console.log(JSON.stringify(reports));
    expect(step('start')).toMatchObject({ result: { innerPid: expect.any(Number) } });
    // What the part learns of the cage's start: its Xvnc at the policy's size (nothing remembered), its desktop painted in its level's tone.
    const low = parsePolicy(POLICY, 'p.yaml').levels.find((l) => l.id === 'low')!;
    const [width, height] = (low.cage as { geometry: string }).geometry.split('x').map(Number);
    expect(step('start')!.result).toEqual({ innerPid: expect.any(Number), adopted: false, screen: { width, height }, desktopColour: desktopTone(low.colour) });
    expect(step('second start')).toMatchObject({ code: 'POLICY_DENIED', error: expect.stringMatching(/is running already: a second start is refused/) });
    expect(step('greeting')).toMatchObject({ banner: 'RFB 003.008\n', uid: manager.cloison.uid });
    // Killed while the part waited: the wait answered with the cage's end.
    expect(killedAt).toBeGreaterThan(0);
    expect(step('wait')).toMatchObject({ result: { reason: expect.stringMatching(/^cage session ended/) } });
    expect(step('stop after its end')).toMatchObject({ result: { stopped: false, reason: 'cage low is not running' } });
    expect(step('start again')).toMatchObject({ result: { innerPid: expect.any(Number) } });
    expect(step('stop')).toMatchObject({ result: { stopped: true } });
    expect(step('wait after the stop')).toMatchObject({ result: { reason: (step('stop')!.result as { reason: string }).reason } });
    expect(levelTraces('low')).toEqual({ mounted: false, running: 'stopped' });
    expect(processNamesOf(LOW_UID)).toEqual([]);
    expect(manager.refusals().filter((r) => r.op === 'cage.start')).toHaveLength(1);
  }, 180_000);

  it('checks the uid against the policy again itself, and two starts at once start one cage', async () => {
    const start = cageStartExecutor({ policy: () => parsePolicy(POLICY, 'p.yaml'), ...manager.folders, cages });
    // As if the policy had changed between the authorization and the start: the level's uid by the policy now.
    await expect(start({ op: 'cage.start', level: 'high', uid: LOW_UID })).rejects.toThrow(/uid 58750 is not level high's \(58751\)/);
    expect(cages.state('high')).toBe('stopped');
    const both = await Promise.allSettled([start({ op: 'cage.start', level: 'high', uid: HIGH_UID }), start({ op: 'cage.start', level: 'high', uid: HIGH_UID })]);
    expect(both.filter((b) => b.status === 'fulfilled')).toHaveLength(1);
    expect(both.find((b) => b.status === 'rejected')).toMatchObject({ reason: { code: 'POLICY_DENIED', message: 'cage high is starting already: a second start is refused' } });
    const running = cages.cage('high')!;
    expect(cages.innerPidOf('high')).toBe(running.innerPid);
    expect(cages.launcherOf('high')).toBe(running.launcher);
    // A process of the cage that left its session: the stop reaches it through the cage's group.
    expect((await launcherShell(running)('setsid sleep 600 </dev/null >/dev/null 2>&1 &')).code).toBe(0);
    // The shell returns once it has forked: the child is `sh` until it has executed sleep.
    await waitFor(() => processNamesOf(HIGH_UID).includes('sleep'), 'the setsid sleep running');
    expect(await cageStopExecutor({ cages })({ op: 'cage.stop', level: 'high' })).toMatchObject({ stopped: true });
    expect(levelTraces('high')).toEqual({ mounted: false, running: 'stopped' });
    expect(processNamesOf(HIGH_UID)).toEqual([]);
  }, 120_000);

  it('refuses uid 0, another level\'s uid, a level the policy does not name, a bwrap argument in a level id, journaled; nothing starts', async () => {
    const asked = [
      { op: 'cage.start', level: 'low', uid: 0 },
      { op: 'cage.start', level: 'low', uid: HIGH_UID },
      { op: 'cage.start', level: 'secret', uid: LOW_UID },
      { op: 'cage.start', level: 'low --bind / /', uid: LOW_UID },
      { op: 'cage.stop', level: 'secret' },
      { op: 'cage.wait', level: 'secret' },
    ];
    const seen = manager.refusals().length;
    const outcome = await sendFramesAs(manager.cloison, manager.socketPath, asked.map((request, i) => ({ json: { id: i + 1, request } })));
    const replies = new Map((outcome.replies as Array<{ id: number; ok: boolean; error?: { message: string } }>).map((r) => [r.id, r]));
    console.log(JSON.stringify(outcome.replies));
    const expected = [/uid 0 is not level low's \(58750\)/, /uid 58751 is not level low's \(58750\)/, /no level "secret"/, /not a root request: level: a level id/, /no level "secret"/, /no level "secret"/];
    expected.forEach((reason, i) => {
      expect(replies.get(i + 1)).toMatchObject({ ok: false, error: { message: expect.stringMatching(reason) } });
    });
    const journaled = manager.refusals().slice(seen);
    expect(journaled).toHaveLength(asked.length);
    for (const entry of journaled) expect(entry).toMatchObject({ actor: 'cloison', peerUid: manager.cloison.uid });
    expect(levelTraces('low')).toEqual({ mounted: false, running: 'stopped' });
    expect(cages.levels()).toEqual([]);
  }, 60_000);
});
