/**
 * A cage's screen follows the frame the shell reports (geometry: auto), in device pixels, bounded
 * by the policy, set by the supervisor on the cage's real X server; a fixed geometry stays fixed;
 * a viewer asking the cage for another size through the gateway is refused. Reports are coalesced:
 * a shell reporting in a loop makes the cage resize at most once per interval, to the latest size.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { innerPidOf, cageShell } from '../testing/realCage';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { wsLink, type ByteLink } from '../testing/rfbViewer';
import { CageScreens, screenSizeFor, type FrameSize } from './cageScreens';
import { desktopTone, type ScreenSize } from './xScreen';

const UID = { low: 62_951, high: 62_952 };
const POLICY = twoLevelPolicy({
  low: `{ driver: bwrap, network: none, uid: ${UID.low}, maxGeometry: 2560x1600, apps: [] }`,
  high: `{ driver: bwrap, network: none, uid: ${UID.high}, geometry: 1024x640, apps: [] }`,
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
});
