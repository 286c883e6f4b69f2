/**
 * apps.list and apps.launch through the supervisor's RPC with two real cages: the list is the
 * policy's, named from the host; a launch starts the app in its own level's cage only, as a true cage
 * process, and is journaled; an id the level does not list, another level's id, a vnc level and a
 * locked workstation are refused — a shell cannot make the supervisor run a program the policy does
 * not name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cageProcess, hostPidOf, processesInCage } from '../testing/cageProcesses';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';

const APPS = '[{ id: editor, exec: [xedit], desktop: org.xfce.mousepad }, { id: clock, exec: [xclock, -digital] }, xterm]';
const POLICY = twoLevelPolicy({
  low: `{ driver: bwrap, network: none, uid: 58521, geometry: 640x480, apps: ${APPS} }`,
  high: '{ driver: bwrap, network: none, uid: 58522, geometry: 640x480, apps: [{ id: secret-tool, exec: [xlogo] }] }',
});

describe('apps.list and apps.launch', () => {
  let t: TestSupervisor;
  beforeAll(async () => {
    t = await startTestSupervisor(POLICY);
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  }, 60_000);

  const inLow = (program: string) => processesInCage(t.sup.cages.get('low')!.cage!.innerPid!).filter((p) => p.command.split(' ')[0] === program);

  it("lists each level's apps from the policy, named from the host's .desktop files or after their id", async () => {
    const r = await t.rpc.call('apps.list', {});
    expect(r.ok).toBe(true);
    const [low, high] = r.result.levels;
    expect(low.level).toBe('low');
    expect(low.apps.map((a: { id: string }) => a.id)).toEqual(['editor', 'clock', 'xterm']);
    expect(low.apps[0]).toMatchObject({ name: { en: 'Mousepad' }, running: 0 });
    expect(low.apps[0].icon).toMatch(/^data:image\/png;base64,/);
    expect(low.apps[1]).toMatchObject({ name: { fr: 'clock', en: 'clock' }, icon: null });
    expect(high.apps.map((a: { id: string }) => a.id)).toEqual(['secret-tool']);
  });

  it('starts an app in its level only, as a true cage process, journaled, and counts it while it runs', async () => {
    const r = await t.rpc.call('apps.launch', { level: 'low', id: 'clock' });
    expect(r.ok).toBe(true);
    await waitFor(() => inLow('xclock').length === 1, 'xclock in low');
    const clock = cageProcess(hostPidOf(t.sup.cages.get('low')!.cage!.innerPid!, r.result.pid)!)!;
    const xvnc = inLow('Xvnc')[0]!;
    expect({ seccomp: clock.seccomp, noNewPrivs: clock.noNewPrivs, capEff: clock.capEff, uid: clock.uid, cgroup: clock.cgroup }).toEqual({ seccomp: 2, noNewPrivs: 1, capEff: '0000000000000000', uid: 58521, cgroup: xvnc.cgroup });
    expect((await t.rpc.call('apps.list', {})).result.levels[0].apps[1].running).toBe(1);
    expect(t.records().filter((x) => x.kind === 'app.launch').at(-1)).toMatchObject({ level: 'low', app: 'clock', decision: 'started' });
    // Closed (its X client killed), it is no longer counted, and starts again.
    process.kill(clock.pid, 'SIGTERM');
    await waitFor(async () => (await t.rpc.call('apps.list', {})).result.levels[0].apps[1].running === 0, 'the count back to 0');
    expect((await t.rpc.call('apps.launch', { level: 'low', id: 'clock' })).ok).toBe(true);
    await waitFor(() => inLow('xclock').length === 1, 'xclock in low again');
  });

  it("refuses an id the level does not list, another level's id, an unknown level, and any launch while locked", async () => {
    const before = inLow('xlogo').length;
    expect((await t.rpc.call('apps.launch', { level: 'low', id: 'secret-tool' })).error?.code).toBe('POLICY_DENIED');
    expect((await t.rpc.call('apps.launch', { level: 'low', id: 'sh' })).error?.code).toBe('POLICY_DENIED');
    expect((await t.rpc.call('apps.launch', { level: 'nowhere', id: 'clock' })).error?.code).toBe('UNKNOWN_LEVEL');
    expect((await t.rpc.call('apps.launch', { level: 'low', id: 'clock', exec: ['sh'] })).error?.code).toBe('BAD_REQUEST');
    expect((await t.rpc.call('session.lock', {})).ok).toBe(true);
    expect((await t.rpc.call('apps.launch', { level: 'low', id: 'clock' })).error?.code).toBe('SESSION_LOCKED');
    expect(inLow('xlogo').length).toBe(before);
  });
});
