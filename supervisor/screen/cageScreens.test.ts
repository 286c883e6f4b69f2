/**
 * A cage's screen follows the frame the shell reports (geometry: auto), in device pixels, bounded
 * by the policy, set by the supervisor on the cage's real X server; a fixed geometry stays fixed;
 * a viewer asking the cage for another size through the gateway is refused. Reports are coalesced:
 * a shell reporting in a loop makes the cage resize at most once per interval, to the latest size.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { innerPidOf, cageShell } from '../testing/realCage';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { TEST_HOME_LIMIT, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { wsLink, type ByteLink } from '../testing/rfbViewer';
import { CageScreens, screenSizeFor, type FrameSize } from './cageScreens';
import { desktopTone, type ScreenSize } from './xScreen';

const UID = { low: 58632, high: 58633 };
const POLICY = twoLevelPolicy({
  // Small homes: a home is reserved whole (8 GiB by default), and the machine's disk is shared.
  low: `{ driver: bwrap, network: none, uid: ${UID.low}, maxGeometry: 2560x1600, apps: [], limits: { ${TEST_HOME_LIMIT} } }`,
  high: `{ driver: bwrap, network: none, uid: ${UID.high}, geometry: 1024x640, apps: [], limits: { ${TEST_HOME_LIMIT} } }`,
});

describe('screenSizeFor', () => {
  const max = { width: 2560, height: 1600 };
  it('is the frame in device pixels', () => {
    expect(screenSizeFor({ width: 1000, height: 600, devicePixelRatio: 1 }, max)).toEqual({ width: 1000, height: 600 });
    expect(screenSizeFor({ width: 1000.4, height: 600.6, devicePixelRatio: 1.5 }, max)).toEqual({ width: 1501, height: 901 });
    expect(screenSizeFor({ width: 945, height: 1000, devicePixelRatio: 1.25 }, max)).toEqual({ width: 1181, height: 1250 });
  });
  it('shrinks a frame beyond the bound keeping its shape, and never goes below 320x200', () => {
    expect(screenSizeFor({ width: 1900, height: 1000, devicePixelRatio: 2 }, max)).toEqual({ width: 2560, height: 1347 });
    expect(screenSizeFor({ width: 700, height: 1200, devicePixelRatio: 2 }, max)).toEqual({ width: 933, height: 1600 });
    expect(screenSizeFor({ width: 100, height: 50, devicePixelRatio: 1 }, max)).toEqual({ width: 320, height: 200 });
  });
});

describe('coalescing', () => {
  it('a shell reporting in a loop: one resize per interval, ending on the latest size', async () => {
    const calls: ScreenSize[] = [];
    const policy = { levels: [{ id: 'low', colour: '#1b7f3b', cage: { driver: 'bwrap', geometry: 'auto' } }] } as unknown as Policy;
    const screens = new CageScreens({
      policy: { current: () => policy },
      x11DirOf: () => '/nonexistent',
      minIntervalMs: 200,
      resize: async (_dir, size) => void calls.push(size),
    });
    const started = Date.now();
    let last: FrameSize = { width: 0, height: 0, devicePixelRatio: 1 };
    while (Date.now() - started < 1000) {
      last = { width: 800 + Math.floor(Math.random() * 400), height: 600, devicePixelRatio: 1 };
      screens.frameSize('low', last);
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 450));
    screens.dispose();
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls.length).toBeLessThanOrEqual(7); // 1000 ms of reports at most every 200 ms, plus the last
    expect(calls.at(-1)).toEqual({ width: last.width, height: 600 });
  });

  it('paints the desktop a muted tone of the level colour, neither black nor the colour itself', () => {
    expect(desktopTone('#1b7f3b')).toBe('#1c3f27');
    expect(desktopTone('#b3261e')).toBe('#51201d');
    expect(desktopTone('#000000')).not.toBe('#000000');
  });
});

describe("a cage's start size", () => {
  const policyOf = (cage: string) => ({ levels: [{ id: 'low', colour: '#1b7f3b', cage: JSON.parse(cage) }] }) as unknown as Policy;
  const AUTO = policyOf('{ "driver": "bwrap", "geometry": "auto", "maxGeometry": "1600x1000" }');
  let dir = '';
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'cloison-screens-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const screensWith = (file: string, policy = AUTO, calls: ScreenSize[] = []) =>
    new CageScreens({ policy: { current: () => policy }, x11DirOf: () => '/nonexistent', rememberIn: file, minIntervalMs: 0, resize: async (_d, size) => void calls.push(size), paint: async () => undefined });

  it("is the policy's start size (null) for a first start, and the frame's once the shell reported it", () => {
    const screens = screensWith(join(dir, 'first.json'));
    expect(screens.startSize('low')).toBeNull();
    screens.frameSize('low', { width: 1000, height: 600, devicePixelRatio: 1 });
    expect(screens.startSize('low')).toEqual({ width: 1000, height: 600 });
    expect(screensWith(join(dir, 'first.json'), policyOf('{ "driver": "bwrap", "geometry": "1024x640" }')).startSize('low')).toBeNull();
    screens.dispose();
  });

  it('a cage started at its frame\'s size is not resized once it runs; one started at another size is', async () => {
    const calls: ScreenSize[] = [];
    const screens = screensWith(join(dir, 'running.json'), AUTO, calls);
    let running = false;
    const withDir = new CageScreens({ policy: { current: () => AUTO }, x11DirOf: () => (running ? '/nonexistent' : null), minIntervalMs: 0, resize: async (_d, size) => void calls.push(size), paint: async () => undefined });
    withDir.frameSize('low', { width: 1000, height: 600, devicePixelRatio: 1 });
    withDir.startSize('low');
    running = true;
    withDir.cageRunning('low');
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toEqual([]);
    withDir.frameSize('low', { width: 900, height: 600, devicePixelRatio: 1 });
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toEqual([{ width: 900, height: 600 }]);
    // A cage started before any report (the policy's size) is resized to its frame once it runs.
    calls.length = 0;
    const later = new CageScreens({ policy: { current: () => AUTO }, x11DirOf: () => '/nonexistent', minIntervalMs: 0, resize: async (_d, size) => void calls.push(size), paint: async () => undefined });
    expect(later.startSize('low')).toBeNull();
    later.cageRunning('low');
    later.frameSize('low', { width: 1000, height: 600, devicePixelRatio: 1 });
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toEqual([{ width: 1000, height: 600 }]);
    for (const s of [screens, withDir, later]) s.dispose();
  });

  it('a cage that says what it was started at and painted (the cage manager\'s answer) is neither resized to that size nor painted again', async () => {
    const calls: ScreenSize[] = [];
    const painted: string[] = [];
    let running = false;
    const make = () => new CageScreens({ policy: { current: () => AUTO }, x11DirOf: () => (running ? '/nonexistent' : null), minIntervalMs: 0, resize: async (_d, size) => void calls.push(size), paint: async (_d, colour) => void painted.push(colour) });
    // Split: the part never asked startSize; the running cage's own word is what it was started at.
    const screens = make();
    screens.frameSize('low', { width: 1000, height: 600, devicePixelRatio: 1 });
    running = true;
    screens.cageRunning('low', { screen: { width: 1000, height: 600 }, desktopColour: desktopTone('#1b7f3b') });
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toEqual([]);
    expect(painted).toEqual([]);
    // Started at another size, or painted another colour (or not at all): set, as before.
    running = false;
    const other = make();
    other.frameSize('low', { width: 1000, height: 600, devicePixelRatio: 1 });
    running = true;
    other.cageRunning('low', { screen: { width: 1280, height: 800 }, desktopColour: '#000000' });
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toEqual([{ width: 1000, height: 600 }]);
    expect(painted).toEqual([desktopTone('#1b7f3b')]);
    for (const s of [screens, other]) s.dispose();
  });

  it('the last size applied is remembered for the next start, bounded by the policy as it is then', async () => {
    const file = join(dir, 'remembered.json');
    const first = screensWith(file);
    first.cageRunning('low');
    first.frameSize('low', { width: 1400, height: 900, devicePixelRatio: 1 });
    await new Promise((r) => setTimeout(r, 50));
    first.dispose();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ low: { width: 1400, height: 900 } });
    expect(screensWith(file).startSize('low')).toEqual({ width: 1400, height: 900 });
    // A policy that lowered the bound since: the remembered size shrinks to fit it, keeping its shape.
    expect(screensWith(file, policyOf('{ "driver": "bwrap", "geometry": "auto", "maxGeometry": "700x900" }')).startSize('low')).toEqual({ width: 700, height: 450 });
  });

  it('a damaged or foreign file is the policy\'s start size, never an error or a size out of bounds', () => {
    const file = join(dir, 'damaged.json');
    for (const text of ['{', '[1,2]', '{"low":{"width":-5,"height":600}}', '{"low":{"width":"1e9","height":600}}', '{"low":null}']) {
      writeFileSync(file, text);
      expect(screensWith(file).startSize('low')).toBeNull();
    }
    writeFileSync(file, '{"low":{"width":100000,"height":50000}}');
    expect(screensWith(file).startSize('low')).toEqual({ width: 1600, height: 800 });
  });
});

describe('cage screens on real cages', () => {
  let t: TestSupervisor;
  const screenOf = async (level: 'low' | 'high') => {
    const r = await cageShell(innerPidOf(t.sup, level), UID[level])('DISPLAY=:0 xdotool getdisplaygeometry');
    const [w, h] = r.stdout.trim().split(' ').map(Number);
    return `${w}x${h}`;
  };

  /**
   * A viewer speaking RFB itself through the gateway, past ServerInit. Xvnc turns connections away
   * for a while after several incomplete ones (the supervisor's start-up probes count): retry, as
   * the shell's viewer does.
   */
  const rawViewer = async (level: string): Promise<ByteLink> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ticket = (await t.rpc.call('vnc.ticket', { level })).result.ticket as string;
      const host = t.sup.browserHost!;
      const link = await wsLink(`ws://127.0.0.1:${host.port}/vnc?level=${level}&ticket=${ticket}`, true, host.origin);
      await link.read(12);
      link.send(Buffer.from('RFB 003.008\n'));
      const types = (await link.read(1))[0]!;
      if (types === 0) {
        link.close();
        if (Date.now() > deadline) throw new Error(`${level}'s Xvnc keeps refusing connections`);
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      await link.read(types);
      link.send(Buffer.from([1]));
      await link.read(4);
      link.send(Buffer.from([1]));
      const init = await link.read(24);
      await link.read(init.readUInt32BE(20)); // the desktop name
      return link;
    }
  };

  beforeAll(async () => {
    t = await startTestSupervisor(POLICY, { browserShell: true });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  }, 60_000);

  it("an auto cage takes its frame's size in device pixels, within maxGeometry", async () => {
    const r = await t.rpc.call('cage.frameSize', { level: 'low', width: 1000.4, height: 600.6, devicePixelRatio: 1.5 });
    expect(r.result).toEqual({ screen: { width: 1501, height: 901 } });
    await waitFor(async () => (await screenOf('low')) === '1501x901', 'low at 1501x901', 10_000);
    await t.rpc.call('cage.frameSize', { level: 'low', width: 1900, height: 1000, devicePixelRatio: 2 });
    await waitFor(async () => (await screenOf('low')) === '2560x1347', 'low at its bound, 2560x1347', 10_000);
    await t.rpc.call('cage.frameSize', { level: 'low', width: 700, height: 500, devicePixelRatio: 1 });
    await waitFor(async () => (await screenOf('low')) === '700x500', 'low at 700x500', 10_000);
  });

  it('a fixed geometry stays fixed', async () => {
    const r = await t.rpc.call('cage.frameSize', { level: 'high', width: 1500, height: 900, devicePixelRatio: 1 });
    expect(r.result).toEqual({ screen: { width: 1024, height: 640 } });
    await new Promise((r) => setTimeout(r, 600));
    expect(await screenOf('high')).toBe('1024x640');
  });

  it('refuses a size outside the contract', async () => {
    const r = await t.rpc.call('cage.frameSize', { level: 'low', width: 1e9, height: 600, devicePixelRatio: 1 });
    expect(r.ok).toBe(false);
    expect((await t.rpc.call('cage.frameSize', { level: 'nope', width: 100, height: 100, devicePixelRatio: 1 })).ok).toBe(false);
  });

  it('a viewer asking the cage for another size through the gateway is refused', async () => {
    await t.rpc.call('cage.frameSize', { level: 'low', width: 900, height: 700, devicePixelRatio: 1 });
    await waitFor(async () => (await screenOf('low')) === '900x700', 'low at 900x700', 10_000);
    // A viewer as a hostile one would be: it learns the cage's screen id from ExtendedDesktopSize,
    // as a real client does, then asks for 1920x1080 with it.
    const link = await rawViewer('low');
    const u16 = (n: number) => [n >> 8, n & 0xff];
    const u32 = (n: number) => [n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
    link.send(Buffer.from([2, 0, ...u16(2), ...u32(-308 >>> 0), ...u32(0)])); // ExtendedDesktopSize, Raw
    link.send(Buffer.from([3, 0, ...u16(0), ...u16(0), ...u16(900), ...u16(700)]));
    await link.read(4); // FramebufferUpdate header
    const rect = await link.read(12);
    expect(rect.readInt32BE(8)).toBe(-308);
    const screens = await link.read(4); // number of screens, padding
    const id = (await link.read(16)).readUInt32BE(0);
    expect(screens[0]).toBe(1);
    link.send(Buffer.from([251, 0, ...u16(1920), ...u16(1080), 1, 0, ...u32(id), ...u16(0), ...u16(0), ...u16(1920), ...u16(1080), ...u32(0)]));
    await new Promise((r) => setTimeout(r, 1500));
    expect(await screenOf('low')).toBe('900x700');
    link.close();
  });

  it("a cage restarted starts at its frame's size: its Xvnc's own, no resize after", async () => {
    await t.rpc.call('cage.frameSize', { level: 'low', width: 1000, height: 620, devicePixelRatio: 1 });
    await waitFor(async () => (await screenOf('low')) === '1000x620', 'low at 1000x620', 10_000);
    const before = innerPidOf(t.sup, 'low');
    await t.rpc.call('cage.restart', { level: 'low' });
    await waitFor(() => t.sup.cages.get('low')?.state.status === 'running' && innerPidOf(t.sup, 'low') !== before, 'low running again', 30_000);
    // The oldest Xvnc: the server, not a fork of it compiling the keymap (named Xvnc until its exec).
    const xvnc = await cageShell(innerPidOf(t.sup, 'low'), UID.low)("tr '\\0' ' ' < /proc/$(pgrep -o -x Xvnc)/cmdline");
    expect(xvnc.stdout, `Xvnc's command line: ${xvnc.stdout} ${xvnc.stderr}`).toContain('-geometry 1000x620 ');
    expect(await screenOf('low')).toBe('1000x620');
    expect(JSON.parse(readFileSync(join(t.root, 'state', 'screens.json'), 'utf8')).low).toEqual({ width: 1000, height: 620 });
  }, 60_000);
});
