/**
 * `app.launch` behind the real manager socket, asked by a real process of the part's account, on
 * a real bwrap cage whose launcher channel the manager holds. The policy's `exec` of the app is
 * started in the cage, exactly; refused and journaled: an extra argument, a missing one, another
 * level's app or command line, a level id carrying a bwrap argument, an environment riding along.
 * Past the check (the executor called directly, as if the request's argv were no longer the
 * running policy's when it acts — a reload between the check and the act): seen with an executor
 * launching the request's argv as given — a shell of the part's choosing ran in the cage as its
 * user. Now refused: the program run is the running policy's own array, compared again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { parsePolicy } from '../policy/policyLoader';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { sendFramesAs } from '../testing/rawFramesAs';
import { startRealCage, type RealCage } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { appLaunchExecutor } from './appLaunchExecutor';

let cage: RealCage;
let manager: ServedManager;
let policy: Policy;

async function ask(request: unknown): Promise<{ reply: { ok: boolean; result?: { pid: number }; error?: { code: string; message: string } }; journaled: Array<Record<string, unknown>> }> {
  const seen = manager.refusals().length;
  const outcome = await sendFramesAs(manager.cloison, manager.socketPath, [{ json: { id: 1, request } }]);
  expect(outcome.replies).toHaveLength(1);
  return { reply: outcome.replies[0] as never, journaled: manager.refusals().slice(seen) };
}
function expectRefused(outcome: Awaited<ReturnType<typeof ask>>, code: string, reason: RegExp): void {
  expect(outcome.reply).toMatchObject({ ok: false, error: { code, message: expect.stringMatching(reason) } });
  expect(outcome.journaled).toEqual([expect.objectContaining({ actor: 'cloison', op: 'app.launch', peerUid: manager.cloison.uid })]);
}
const cmdline = async (pid: number) => (await cage.sh(`tr '\\0' ' ' < /proc/${pid}/cmdline`)).stdout;

beforeAll(async () => {
  cage = await startRealCage({ level: 'low' });
  policy = parsePolicy(
    twoLevelPolicy({ low: bwrapCage({ uid: cage.uid, apps: '[{ id: sleeper, exec: [sleep, "301"] }]' }), high: bwrapCage({ uid: 58804, apps: '[{ id: other, exec: [sleep, "302"] }]' }) }),
    'p.yaml',
  );
  manager = await serveManagerToCloison({ prefix: 'cloison-ax-', policy: () => policy, executors: () => ({ 'app.launch': appLaunchExecutor({ policy: () => policy, launcherOf: (level) => (level === 'low' ? cage.cage.launcher ?? null : null) }) }) });
}, 60_000);

afterAll(async () => {
  await manager?.close(() => cage?.stop());
}, 30_000);

describe('app.launch', () => {
  it('starts the app\'s exec exactly, in the level\'s cage, through its launcher', async () => {
    const { reply, journaled } = await ask({ op: 'app.launch', level: 'low', appId: 'sleeper', argv: ['sleep', '301'] });
    expect(reply).toMatchObject({ ok: true, result: { pid: expect.any(Number) } });
    expect(journaled).toEqual([]);
    expect(await cmdline(reply.result!.pid)).toBe('sleep 301 ');
  }, 30_000);

  it('refuses an argv that is not the policy\'s, another level\'s app, a bwrap argument in the level id, an environment; journaled, nothing started', async () => {
    const before = cage.cage.launcher!.launched().length;
    expectRefused(await ask({ op: 'app.launch', level: 'low', appId: 'sleeper', argv: ['sleep', '301', '&&', 'id'] }), 'POLICY_DENIED', /command line is not the policy's/);
    expectRefused(await ask({ op: 'app.launch', level: 'low', appId: 'sleeper', argv: ['sleep'] }), 'POLICY_DENIED', /command line is not the policy's/);
    expectRefused(await ask({ op: 'app.launch', level: 'low', appId: 'sleeper', argv: ['sh', '-c', 'sleep 301'] }), 'POLICY_DENIED', /command line is not the policy's/);
    expectRefused(await ask({ op: 'app.launch', level: 'low', appId: 'other', argv: ['sleep', '302'] }), 'POLICY_DENIED', /level low has no app "other"/);
    expectRefused(await ask({ op: 'app.launch', level: 'low --bind / /', appId: 'sleeper', argv: ['sleep', '301'] }), 'BAD_REQUEST', /not a root request/);
    expectRefused(await ask({ op: 'app.launch', level: 'low', appId: 'sleeper', argv: ['sleep', '301'], env: { LD_PRELOAD: '/tmp/x.so' } }), 'BAD_REQUEST', /not a root request/);
    // The high level's app is the policy's, but its cage is not one the manager runs: no launcher, nothing started.
    expect((await ask({ op: 'app.launch', level: 'high', appId: 'other', argv: ['sleep', '302'] })).reply).toMatchObject({ ok: false, error: { code: 'CAGE_UNAVAILABLE' } });
    expect(cage.cage.launcher!.launched().length).toBe(before);
  }, 30_000);

  it('the race won (argv no longer the policy\'s when the executor acts): naive ran the part\'s shell in the cage; refused now', async () => {
    const launcher = cage.cage.launcher!;
    const naive = async (req: { argv: string[] }) => ({ pid: (await launcher.launch({ argv: req.argv })).pid });
    const request = { op: 'app.launch' as const, level: 'low', appId: 'sleeper', argv: ['sh', '-c', 'echo "$(id -u)" > "$HOME/naive"; sleep 303'] };
    const naiveRan = await naive(request);
    const wrote = await cage.sh('sleep 0.5; cat "$HOME/naive"');
    console.log(`naive app.launch with an argv not the policy's: pid ${naiveRan.pid}, ran as uid ${wrote.stdout.trim()} in the cage: ${await cmdline(naiveRan.pid)}`);
    expect(wrote.stdout.trim()).toBe(String(cage.uid));
    const executor = appLaunchExecutor({ policy: () => policy, launcherOf: () => launcher });
    const before = launcher.launched().length;
    await expect(executor({ ...request, argv: ['sh', '-c', 'echo "$(id -u)" > "$HOME/mine"; sleep 304'] })).rejects.toThrow(/command line is not the running policy's/);
    expect(launcher.launched().length).toBe(before);
    expect((await cage.sh('cat "$HOME/mine"')).code).not.toBe(0);
  }, 30_000);
});
