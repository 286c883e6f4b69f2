/**
 * `xhelper.screenSize` against a real cage, asked by a real peer of the `cloison` uid (a
 * compromised part may send anything that parses): the supervisor's resize in one X helper sandbox,
 * the size held within the level's bounds. Seen with the executor and the authorization taking the
 * size as given (their checks taken out): a 4000x3000 screen asked on a level whose maxGeometry is
 * 1024x768 was answered ok, the cage's screen became 4000x3000, nothing journaled. Now it is refused,
 * journaled, the screen as it was — and so are a 1x1 screen and a resize of a level whose geometry
 * the policy fixes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { sendFramesAs } from '../testing/rawFramesAs';
import { startRealCage, testRoot, type RealCage } from '../testing/realCage';
import { TEST_HOME_LIMIT, twoLevelPolicy } from '../testing/testPolicy';
import { xScreenSizeExecutor } from './xScreenSizeExecutor';

let manager: ServedManager;
let cage: RealCage;
const remembered: Array<{ level: string; width: number; height: number }> = [];

beforeAll(async () => {
  const root = testRoot('cloison-xss-');
  cage = await startRealCage({ level: 'low', root, geometry: '640x480' });
  const lowCage = `{ driver: bwrap, network: none, geometry: auto, maxGeometry: 1024x768, apps: [], limits: { ${TEST_HOME_LIMIT} } }`;
  manager = await serveManagerToCloison({
    root,
    policy: twoLevelPolicy({ low: lowCage, high: `{ driver: bwrap, network: none, geometry: 640x480, apps: [], limits: { ${TEST_HOME_LIMIT} } }` }),
    // high's folder is low's running cage too: a level the policy fixes must be refused before any folder is looked at.
    executors: ({ policy }) => ({ 'xhelper.screenSize': xScreenSizeExecutor({ policy, x11Dir: (level) => (level === 'low' || level === 'high' ? cage.driver.x11Dir : null), set: (level, size) => remembered.push({ level, ...size }) }) }),
  });
}, 60_000);

afterAll(async () => {
  await manager?.close(() => cage?.stop());
});

type Outcome = { reply: { ok: boolean; result?: unknown; error?: { code: string; message: string } }; journaled: Array<Record<string, unknown>> };

async function ask(request: Record<string, unknown>): Promise<Outcome> {
  const seen = manager.refusals().length;
  const outcome = await sendFramesAs(manager.cloison, manager.socketPath, [{ json: { id: 7, request: { op: 'xhelper.screenSize', level: 'low', ...request } } }]);
  expect(outcome.replies).toHaveLength(1);
  return { reply: outcome.replies[0] as never, journaled: manager.refusals().slice(seen) };
}

/** The cage's screen size as its own X server says. */
async function screenSize(): Promise<string> {
  const r = await cage.sh('DISPLAY=:0 xrandr | head -1');
  return /current (\d+) x (\d+)/.exec(r.stdout)?.slice(1).join('x') ?? `unknown: ${r.stdout} ${r.stderr}`;
}

const ourModes = async () => (await cage.sh('DISPLAY=:0 xrandr | grep -o "cloison-[0-9x]*" | sort -u')).stdout.split('\n').filter(Boolean);

describe('xhelper.screenSize', () => {
  it('sets the screen in one request, forgets the earlier size, and the size is remembered', async () => {
    expect(await screenSize()).toBe('640x480');
    for (const [width, height] of [[800, 600], [900, 700]] as const) {
      const { reply, journaled } = await ask({ width, height });
      expect(reply).toMatchObject({ ok: true, result: { width, height } });
      expect(journaled).toEqual([]);
      expect(await screenSize()).toBe(`${width}x${height}`);
    }
    expect(await ourModes()).toEqual(['cloison-900x700']);
    expect(remembered).toEqual([{ level: 'low', width: 800, height: 600 }, { level: 'low', width: 900, height: 700 }]);
  });

  it('refuses a size beyond maxGeometry, below the smallest screen, a fixed screen; journaled, the screen unchanged', async () => {
    for (const [request, reason] of [
      [{ width: 4000, height: 3000 }, /screen size 4000x3000 is outside 320x200–1024x768/],
      [{ width: 1024, height: 769 }, /outside/],
      [{ width: 1, height: 1 }, /screen size 1x1 is outside/],
      [{ level: 'high', width: 800, height: 600 }, /level high's screen is fixed \(640x480\)/],
      [{ level: 'secret', width: 800, height: 600 }, /no level "secret"/],
    ] as const) {
      const outcome = await ask(request);
      console.log(`${JSON.stringify(request)}: ${JSON.stringify(outcome.reply).slice(0, 200)}; screen ${await screenSize()}`);
      expect(outcome.reply.ok).toBe(false);
      expect(outcome.reply.error!.message).toMatch(reason);
      expect(outcome.journaled).toHaveLength(1);
      expect(outcome.journaled[0]).toMatchObject({ actor: 'cloison', peerUid: manager.cloison.uid });
      expect(String(outcome.journaled[0]!.reason)).toMatch(reason);
    }
    expect(await screenSize()).toBe('900x700');
    expect(remembered).toHaveLength(2);
  });

  it('refuses what does not parse: a fraction, a negative or text size, an argument riding along', async () => {
    for (const request of [{ width: 800.5, height: 600 }, { width: -800, height: 600 }, { width: '800', height: 600 }, { width: 800, height: 600, args: ['--fb', '4000x3000'] }, { width: 800 }]) {
      const outcome = await ask(request);
      expect(outcome.reply.ok).toBe(false);
      expect(outcome.journaled).toHaveLength(1);
    }
    expect(await screenSize()).toBe('900x700');
  });

  it('forgets sixteen of the cage\'s own modes named as ours at most, in the same sandbox', async () => {
    const made = Array.from({ length: 30 }, (_, i) => `cloison-${400 + i}x300`);
    await cage.sh(`export DISPLAY=:0; ${made.map((m) => { const [w, h] = m.slice(8).split('x'); return `xrandr --newmode ${m} 60 ${w} ${w} ${w} ${w} ${h} ${h} ${h} ${h}; xrandr --addmode VNC-0 ${m}`; }).join('; ')}`);
    const before = await ourModes();
    expect(before).toHaveLength(31);
    const { reply } = await ask({ width: 700, height: 500 });
    expect(reply).toMatchObject({ ok: true });
    expect(await screenSize()).toBe('700x500');
    const left = await ourModes();
    expect(left).toContain('cloison-700x500');
    expect(left).toHaveLength(31 + 1 - 16);
  }, 60_000);
});
