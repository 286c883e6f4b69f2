/**
 * Attack (a hostile cage in front, its bytes through the real gateway into its real viewer): one
 * Tight JPEG rectangle whose bytes are no JPEG (an image that never loads), then whole-screen
 * 2-colour palette rectangles of ~100 bytes each. noVNC queues a 4-byte-a-pixel copy of each behind
 * the image (renderQueueFlood.attack.test.ts shows it through noVNC's decoder alone): 300 of them,
 * ~30 KB sent, are ~550 MiB of copies for an 800×600 screen; seen here, the renderers' anonymous
 * memory grew 260–305 MiB at its peak over 15 s (two runs, load 22–33: the viewer decodes ~30 ms a
 * rectangle, and hangs meanwhile); an update may hold 65 535 (~117 GiB). Every rectangle lies within the framebuffer: rectangleGuard.ts lets each
 * through. What the viewer should do: hold no more than a few screens whatever a cage sends, or
 * end the connection and say why.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { twoLevelPolicy, vncCage } from '../supervisor/testing/testPolicy';
import { startHostileVncServer, type HostileVncServer } from './tools/hostileVncServer';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

/** The resident memory (anonymous, kB → bytes) of this test process's descendants that are Chromium renderers. */
function rendererMemory(): number {
  const parent = new Map<number, number>();
  const renderers: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('--type=renderer')) renderers.push(Number(name));
    } catch {
      /* gone */
    }
  }
  const ours = (pid: number) => {
    for (let p = pid; p > 1; p = parent.get(p) ?? 0) if (p === process.pid) return true;
    return false;
  };
  let bytes = 0;
  for (const pid of renderers.filter(ours)) {
    try {
      const anon = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      bytes += Number(anon?.[1] ?? 0) * 1024;
    } catch {
      /* gone */
    }
  }
  return bytes;
}

test.describe('hostile high cage: rectangles queued behind an image that never loads', () => {
  let hostile: HostileVncServer;
  let quiet: HostileVncServer;
  let sup: SupervisorProcess;
  let socketDir: string;

  test.beforeAll(async () => {
    socketDir = mkdtempSync(join(tmpdir(), 'cloison-flood-'));
    hostile = await startHostileVncServer({ socketPath: join(socketDir, 'high.sock'), mode: 'queue-flood', desktopName: 'high', fakeBandColour: [0x80, 0x10, 0x10], queuedRectangles: 300 });
    // The low "cage" paints its screen every 250 ms and nothing else.
    quiet = await startHostileVncServer({ socketPath: join(socketDir, 'low.sock'), mode: 'fake-band', desktopName: 'low', fakeBandColour: [0x10, 0x80, 0x10] });
    sup = await startSupervisor(twoLevelPolicy({ low: vncCage(join(socketDir, 'low.sock')), high: vncCage(join(socketDir, 'high.sock')) }));
  });
  test.afterAll(async () => {
    await sup?.stop();
    await hostile?.close();
    await quiet?.close();
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  });

  test("the viewer's renderer holds no more than a few screens", async ({ page }) => {
    const said: string[] = [];
    page.on('console', (m) => said.push(m.text().slice(0, 200)));
    await page.goto(await sup.launchUrl());
    await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
    await page.waitForTimeout(1000);
    const before = rendererMemory();
    await page.getByTestId('switch-high').click();
    await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'high');
    // The viewer decodes the update as fast as its CPU allows (~30 ms a rectangle here): its peak over 15 s.
    let peak = before;
    for (let i = 0; i < 60; i++) {
      await page.waitForTimeout(250);
      peak = Math.max(peak, rendererMemory());
    }
    const started = Date.now();
    await page.keyboard.press('Control+Alt+PageDown');
    await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', 'low');
    const switchMs = Date.now() - started;
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const refusal = said.find((line) => line.includes('cage connection ended:'));
    console.log(`queue-flood: the renderers' anonymous memory ${(before / 2 ** 20).toFixed(0)} MiB before, ${(peak / 2 ** 20).toFixed(0)} MiB at its peak; refused: ${refusal ?? 'no'}; switch back ${switchMs} ms; load ${load}`);
    expect(peak - before, "renderers' memory grown by ~30 KB from the cage").toBeLessThan(200 * 2 ** 20);
  });
});
