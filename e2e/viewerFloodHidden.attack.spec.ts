/**
 * Attack (issue #26's hidden first frame, issue #27's defence): a cage in the back that floods its
 * viewer with full-screen Raw updates from its very start. A viewer hidden from its start now
 * reads and draws one screen of its cage's first frame (pacedChannel.ts, FIRST_SCREEN), so the
 * first switch to it shows a picture at once; past that one screen it must cost the shell nothing:
 * once the pipe is full the flood cannot write a byte more, and the renderers' CPU while it waits
 * behind, and the front viewer's animation frames, are as with nothing behind.
 *
 * Printed, for A/B against a build without the first screen (bench/RESULTS.md, viewerfirst-10):
 * what the flood wrote until the pipe was full, the renderers' CPU from the page's load to then and
 * over five quiet seconds after, and the front viewer's animation frames over those five seconds.
 * Asserted: nothing more is written behind once full (as viewerFlood.spec.ts), and the hidden
 * viewer holds the flood's picture at the first switch (its first screen, drawn while hidden):
 * read in the viewer as the shell's "shown" message reaches it, before it may read a byte more
 * (the reveal holds its reading for a frame, pacedChannel.ts), so no byte read after the switch
 * can be what is seen. Read by polling the hidden canvas instead, the check raced the canvas's
 * emptying (hiddenCanvas.ts, 5 s after the viewer's start): under load the first screen was
 * still being read, at a hidden viewer's pace, when the poll gave up.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { startFloodingVncServer, type FloodingVncServer } from '../supervisor/testing/floodingVncServer';
import { twoLevelPolicy, vncCage } from '../supervisor/testing/testPolicy';
import { startHostileVncServer, type HostileVncServer } from './tools/hostileVncServer';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

const FLOOD_SHADES = new Set(['#202020', '#606060', '#a0a0a0', '#e0e0e0']);
const TICK_MS = 10;

/** CPU (clock ticks → ms) of this test process's descendants that are Chromium renderers. */
function rendererCpuMs(): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  const renderers: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(f[1]));
      ticks.set(Number(name), Number(f[11]) + Number(f[12]));
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('--type=renderer')) renderers.push(Number(name));
    } catch {
      /* gone */
    }
  }
  const ours = (pid: number) => {
    for (let p = pid; p > 1; p = parent.get(p) ?? 0) if (p === process.pid) return true;
    return false;
  };
  return renderers.filter(ours).reduce((sum, pid) => sum + (ticks.get(pid) ?? 0) * TICK_MS, 0);
}

/** Animation frames the viewer frame of `level` runs over `ms`. */
async function framesOver(page: Page, level: string, ms: number): Promise<number> {
  return page
    .frameLocator(`[data-testid=viewer-frame-${level}]`)
    .locator('#screen')
    .evaluate(
      (_el, wait) =>
        new Promise<number>((resolve) => {
          let n = 0;
          const end = performance.now() + wait;
          const tick = () => (performance.now() < end ? (n++, requestAnimationFrame(tick)) : resolve(n));
          requestAnimationFrame(tick);
        }),
      ms,
    );
}

/**
 * In the viewer of `level`: the centre pixel of its canvas as the shell's first message showing it
 * arrives (after the viewer's own listener, registered at its start, has redrawn an emptied canvas
 * from its memory framebuffer); null without a canvas of any size. Resolves at that switch.
 */
async function armCentreAtFirstShow(page: Page, level: string): Promise<() => Promise<string | null>> {
  const screen = page.frameLocator(`[data-testid=viewer-frame-${level}]`).locator('#screen');
  await screen.evaluate((el) => {
    const centre = (): string | null => {
      const canvas = el.querySelector('canvas');
      if (!canvas || canvas.width === 0 || canvas.height === 0) return null;
      const at = canvas.getContext('2d')!.getImageData(Math.floor(canvas.width / 2), Math.floor(canvas.height / 2), 1, 1).data;
      return '#' + [at[0]!, at[1]!, at[2]!].map((v) => v.toString(16).padStart(2, '0')).join('');
    };
    (window as unknown as { centreAtFirstShow: Promise<string | null> }).centreAtFirstShow = new Promise((resolve) => {
      const onMessage = (ev: MessageEvent) => {
        const m = ev.data as { type?: unknown; place?: unknown } | null;
        if (m?.type !== 'place' || m.place === 'hidden') return;
        removeEventListener('message', onMessage);
        resolve(centre());
      };
      addEventListener('message', onMessage);
    });
  });
  return () => screen.evaluate(() => (window as unknown as { centreAtFirstShow: Promise<string | null> }).centreAtFirstShow);
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

test.describe('a cage flooding its viewer from its start, in the back', () => {
  let flood: FloodingVncServer;
  let quiet: HostileVncServer;
  let sup: SupervisorProcess;
  let socketDir: string;

  test.beforeAll(async () => {
    socketDir = mkdtempSync(join(tmpdir(), 'cloison-viewerfirst10-'));
    flood = await startFloodingVncServer(join(socketDir, 'high.sock'), 1024, 640);
    // The low "cage", in front: it paints its screen every 250 ms and nothing else.
    quiet = await startHostileVncServer({ socketPath: join(socketDir, 'low.sock'), mode: 'fake-band', desktopName: 'low', fakeBandColour: [0x10, 0x80, 0x10] });
    sup = await startSupervisor(twoLevelPolicy({ low: vncCage(join(socketDir, 'low.sock')), high: vncCage(join(socketDir, 'high.sock')) }));
  });
  test.afterAll(async () => {
    await sup?.stop();
    await flood?.close();
    await quiet?.close();
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  });

  test('costs the shell one screen, then nothing; its first switch finds a picture', async ({ page }) => {
    test.setTimeout(120_000);
    const cpuAtStart = rendererCpuMs();
    await page.goto(await sup.launchUrl());
    await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'low');
    await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
    // Once the pipe is full, not a byte more (the flood's server cannot write).
    let last = -1;
    await expect
      .poll(
        async () => {
          const before = flood.sent();
          await new Promise((r) => setTimeout(r, 2000));
          last = flood.sent() - before;
          return last;
        },
        { message: 'bytes the flood wrote in two seconds behind, once the pipe is full', timeout: 40_000 },
      )
      .toBe(0);
    const sentUntilFull = flood.sent();
    const cpuUntilFull = rendererCpuMs() - cpuAtStart;
    const cpuBefore = rendererCpuMs();
    const frontFrames = await framesOver(page, 'low', 5000);
    const cpuQuiet = rendererCpuMs() - cpuBefore;
    expect(flood.sent(), 'bytes written behind over five more seconds').toBe(sentUntilFull);
    // The first switch: what the high viewer shows before it reads anything more.
    const centreAtShow = await armCentreAtFirstShow(page, 'high');
    await page.getByTestId('switch-high').click();
    await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'high');
    const firstPicture = await centreAtShow();
    console.log(
      `hidden flood from the start: first picture ${firstPicture}; the flood wrote ${(sentUntilFull / 2 ** 20).toFixed(2)} MiB until the pipe was full; renderers' CPU ${cpuUntilFull} ms from load to then, ${cpuQuiet} ms over the next 5 s; front viewer ${frontFrames} animation frames in 5 s; load ${load()}`,
    );
    expect(FLOOD_SHADES.has(firstPicture ?? ''), `the first screen is the flood's (${firstPicture})`).toBe(true);
  });
});
