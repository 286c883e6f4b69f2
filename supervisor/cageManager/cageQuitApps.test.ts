/**
 * `cage.quitApps` and `app.windows`, the stop's and the app launcher's requests, asked by
 * RemoteCageDriver in a real `cloison` part of a real CageManagerServer running the real
 * executors, on a real bwrap cage with its window manager. What the part sees:
 *   - each of the level's apps whose .desktop file names its windows' class counted (the terminal,
 *     debian-xterm.desktop: XTerm) — its own window and the one a hostile app opened under its
 *     class (a cage lying about itself changes only its own counts) — as app ids and numbers: the
 *     hostile names the cage gave its windows (instance and class) never reach the part;
 *   - the other level, not running, whose app has the same class: not asked (null), none of this
 *     level's windows counted for it; a level the policy does not name refused and journaled;
 *   - the apps asked to quit as the user would: every window closed through the window manager,
 *     the programs ended, the outcome's numbers answered (the bound is the manager's policy's: the
 *     1 ms the part passes is not sent); no window counted after it;
 *   - eight quits asked at once run one: the eight answers are that one's, its four windows.
 * Attack first: with an executor answering the windows' class lists (windowClassesOf) as they
 * are, the hostile mark reached the part (`windows raw` carried it); now counts alone.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processNamesOf } from '../testing/cageProcesses';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { appLaunchExecutor } from './appLaunchExecutor';
import { appWindowsExecutor } from './appWindowsExecutor';
import { cageQuitAppsExecutor } from './cageQuitAppsExecutor';
import { ManagedCages } from './managedCages';

const LOW_UID = 58538;
const HIGH_UID = 58539;
const MARK = 'HOSTILEMARK';
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
const LOW_APPS = `[{ id: terminal, exec: [xterm], desktop: debian-xterm }, { id: hostile, exec: [sh, -c, "xterm -name ${MARK} & xterm -class ${MARK} & xlogo -name ${MARK} & wait"] }]`;
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, limits: SMALL, apps: LOW_APPS }), high: bwrapCage({ uid: HIGH_UID, limits: SMALL, apps: '[{ id: terminal, exec: [xterm], desktop: debian-xterm }]' }) });

let manager: ServedManager;
const cages = new ManagedCages();
const reports: Array<{ step: string; answer?: unknown } & Record<string, unknown>> = [];
const seen = { processesBeforeQuit: [] as string[] };

const step = (name: string) => reports.find((r) => r.step === name);

beforeAll(async () => {
  manager = await serveManagerToCloison({
    prefix: 'cloison-cqa-', policy: POLICY, cages, holdsCage: true,
    executors: ({ policy, cageExecutors }) => ({
      ...cageExecutors,
      'app.launch': appLaunchExecutor({ policy, launcherOf: cages.launcherOf }),
      'app.windows': appWindowsExecutor({ policy, cage: cages.cage }),
      'cage.quitApps': cageQuitAppsExecutor({ policy, cage: cages.cage }),
    }),
  });
  await manager.runPart(join(__dirname, '../testing/quitAppsRequester.ts'), { managerSocket: manager.socketPath, level: 'low', uid: LOW_UID, otherLevel: 'high', otherUid: HIGH_UID, policy: POLICY, ...manager.folders }, {
    message: (m) => {
      reports.push(m as never);
      if (m.step === 'windows') seen.processesBeforeQuit = processNamesOf(LOW_UID);
    },
  });
  console.log(JSON.stringify(reports));
}, 120_000);

afterAll(async () => {
  await manager?.close();
}, 60_000);

describe('cage.quitApps and app.windows, asked by the cloison part', () => {
  it('counts each app\'s windows by its class, as app ids and numbers: no name the cage gave its windows reaches the part', () => {
    expect(step('launch terminal')).toMatchObject({ answer: { pid: expect.any(Number) } });
    expect(step('launch hostile')).toMatchObject({ answer: { pid: expect.any(Number) } });
    expect(seen.processesBeforeQuit.filter((p) => p === 'xterm')).toHaveLength(3);
    expect(step('windows')!.answer).toEqual([{ appId: 'terminal', windows: 2 }]);
    expect(step('windows raw')!.answer).toEqual({ apps: [{ appId: 'terminal', windows: 2 }] });
    // The policy's own command line carries the mark (the launch's answer); no answer about windows does.
    for (const name of ['windows', 'windows raw', 'other level windows', 'quit', 'windows after quit']) expect(JSON.stringify(step(name))).not.toContain(MARK);
  });

  it('another level is not counted with this one\'s windows; a level the policy does not name is refused and journaled', () => {
    expect(step('other level windows')!.answer).toEqual({ apps: null });
    expect(step('other level quit')!.answer).toEqual({ outcome: 'not asked', windows: 0, windowsLeft: 0, programsLeft: 0, waitedMs: 0, reason: 'cage high is not running' });
    expect(step('unnamed level windows')).toMatchObject({ code: 'POLICY_DENIED' });
    expect(manager.refusals()).toEqual([expect.objectContaining({ op: 'app.windows', peerUid: manager.cloison.uid })]);
  });

  it('asks the apps to quit as the user would: every window closed, the programs ended, the outcome answered; none counted after', () => {
    expect(step('quit')!.answer).toEqual({ outcome: 'all quit', windows: 4, windowsLeft: 0, programsLeft: 0, waitedMs: expect.any(Number) });
    expect(step('windows after quit')!.answer).toEqual([{ appId: 'terminal', windows: 0 }]);
    expect(step('stop')!.answer).toMatchObject({ reason: expect.any(String) });
  });

  it('eight quits asked at once run one quit: the same outcome eight times, all four windows closed by it', () => {
    const answers = step('quit eight at once')!.answer as unknown[];
    expect(answers).toHaveLength(8);
    expect(answers[0]).toMatchObject({ outcome: 'all quit', windows: 4, windowsLeft: 0, programsLeft: 0 });
    for (const answer of answers) expect(answer).toEqual(answers[0]);
  });
});
