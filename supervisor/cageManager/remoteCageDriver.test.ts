/**
 * RemoteCageDriver in a real `cloison` part (the manager's child, dropped to the `cloison`
 * account) against a real CageManagerServer: the low level's real bwrap cage started through it,
 * its RFB greeting read through the handle `openVnc` gives (wrapped as the gateway wraps one), an
 * app of the policy launched in it, `exited` resolved when the cage is killed, a second cage
 * started and stopped. The cage's socket is not the part's to open (EACCES) and `verifyPeer`
 * refuses anything connected by another way; the manager's refusals (a level the policy does not
 * name, another level's uid, a command line the policy does not write) reach the driver as
 * CloisonErrors with the manager's code and reason, and nothing starts.
 *
 * `app.launch` is served by the manager's own executor (appLaunchExecutor.ts); the driver's side —
 * the app id found from the argv, the request, the answer's pid — is what this test holds.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { isMountPoint } from '../cages/cageMounts';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { appLaunchExecutor } from './appLaunchExecutor';
import { ManagedCages } from './managedCages';
import { vncSocketExecutor } from './vncSocketExecutor';
import { processNamesOf } from '../testing/cageProcesses';

const LOW_UID = 58552;
const HIGH_UID = 58553;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
const APPS = '[{ id: sleeper, exec: [sleep, "600"], autostart: false }]';
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, limits: SMALL, apps: APPS }), high: bwrapCage({ uid: HIGH_UID, limits: SMALL }) });

let manager: ServedManager;
const cages = new ManagedCages();

beforeAll(async () => {
  manager = await serveManagerToCloison({
    prefix: 'cloison-rcd-', policy: POLICY, cages,
    executors: ({ policy, part, cageExecutors }) => ({
      ...cageExecutors,
      'cage.vncSocket': vncSocketExecutor({ cage: cages.cage, part }),
      'app.launch': appLaunchExecutor({ policy, launcherOf: cages.launcherOf }),
    }),
  });
}, 30_000);

afterAll(async () => {
  await manager?.close();
}, 60_000);

/** The names of the processes running as `uid`. */
describe('RemoteCageDriver in the cloison part', () => {
  it('starts a real cage through the manager, reads its RFB greeting through openVnc, launches an app, sees exited when it is killed, starts and stops it again; refusals arrive as clear errors', async () => {
    const reports: Array<Record<string, unknown>> = [];
    const seen = { sleepAfterLaunch: [] as string[], killedAt: 0 };
    let innerPid = 0;
    await manager.runPart(join(__dirname, '../testing/remoteCageRequester.ts'), { managerSocket: manager.socketPath, level: 'low', uid: LOW_UID, otherUid: HIGH_UID, policy: POLICY, ...manager.folders }, {
      message: (m) => {
        reports.push(m);
        if (m.step === 'start') innerPid = m.innerPid as number;
        if (m.step === 'launch') seen.sleepAfterLaunch = processNamesOf(LOW_UID);
        if (m.step === 'waiting') {
          // `exited` is awaited in the part; the cage dies as a crash would end it.
          setTimeout(() => {
            seen.killedAt = Date.now();
            process.kill(innerPid, 'SIGKILL');
          }, 500);
        }
      },
    });
    console.log(JSON.stringify(reports));
    const step = (name: string) => reports.find((r) => r.step === name);
    // The manager's refusals, as the driver's errors: its code, what was asked, its reason.
    expect(step('unnamed level')).toMatchObject({ code: 'POLICY_DENIED', error: 'the cage manager answered cage.start for level secret: no level "secret" in the running policy' });
    expect(step('other uid')).toMatchObject({ code: 'POLICY_DENIED', error: expect.stringMatching(/^the cage manager answered cage.start for level low: .*58553/) });
    expect(step('start')).toMatchObject({ innerPid: expect.any(Number), endpoint: { path: expect.stringContaining('/run/cages/low/') } });
    // The part cannot reach the cage's socket itself, and nothing it connected could pass as the cage.
    expect(step('direct connect')).toMatchObject({ code: 'EACCES' });
    expect(step('verifyPeer')).toMatchObject({ code: 'POLICY_DENIED', error: expect.stringMatching(/come from the cage manager/) });
    // Through openVnc, the gateway's way: the greeting, then the security types after our version.
    expect(step('vnc')).toMatchObject({ banner: 'RFB 003.008\n', securityTypes: expect.any(Number), uid: manager.cloison.uid });
    expect((step('vnc') as { securityTypes: number }).securityTypes).toBeGreaterThan(0);
    // An app of the policy started in the cage, as the cage's uid.
    expect(step('launch')).toMatchObject({ pid: expect.any(Number), argv: ['sleep', '600'] });
    expect(seen.sleepAfterLaunch).toContain('sleep');
    expect(step('launch unwritten')).toMatchObject({ code: 'POLICY_DENIED', error: expect.stringMatching(/no app of level low has the command line/) });
    expect(step('run')).toMatchObject({ code: 'CAGE_UNAVAILABLE', error: expect.stringMatching(/does not go through the cage manager yet/) });
    // Killed while the part awaited `exited`: resolved with the manager's reason.
    expect(step('waiting')).toMatchObject({ alive: true });
    expect(seen.killedAt).toBeGreaterThan(0);
    expect(step('exited')).toMatchObject({ reason: expect.stringMatching(/^cage session ended/), alive: false });
    expect(step('stop after its end')).toMatchObject({ stopped: true });
    expect(step('start again')).toMatchObject({ innerPid: expect.any(Number) });
    // The first cage's stop, called again, does not reach the second.
    expect(step('old cage stopped again')).toMatchObject({ stopped: true });
    expect(step('vnc again')).toMatchObject({ banner: 'RFB 003.008\n' });
    expect(step('stop')).toMatchObject({ reason: expect.any(String), alive: false });
    const paths = bwrapCagePaths(manager.folders.stateDir, manager.folders.runDir, 'low');
    expect(isMountPoint(paths.home) || isMountPoint(paths.scratch)).toBe(false);
    expect(cages.state('low')).toBe('stopped');
    expect(processNamesOf(LOW_UID)).toEqual([]);
    // What the manager refused is journaled (the app's command line was refused in the part: never sent).
    expect(manager.refusals().map((r) => r.op)).toEqual(['cage.start', 'cage.start']);
  }, 240_000);
});
