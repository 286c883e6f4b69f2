/**
 * The viewer says `ready` before noVNC is loaded (viewerMain.ts, issue #26): each viewer frame,
 * from its page's start (its navigation's time origin) to its cage connected as the shell page
 * sees it (`data-viewer="connected"`, noted by an observer in the page at the moment it changes).
 * Both cages are quiet fake servers answering RFB at once, so what is timed is the viewer's own
 * start: its scripts, the ticket handed over, the gateway's handshake, ServerInit. Printed for an
 * A/B of two builds (bench/RESULTS.md, viewerfirst-10); asserted only that both connect.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { twoLevelPolicy, vncCage } from '../supervisor/testing/testPolicy';
import { startHostileVncServer, type HostileVncServer } from './tools/hostileVncServer';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

const LEVELS = ['low', 'high'] as const;
const STARTS = 3;

let servers: HostileVncServer[] = [];
let sup: SupervisorProcess;
let socketDir: string;

test.beforeAll(async () => {
  socketDir = mkdtempSync(join(tmpdir(), 'cloison-viewerfirst10-'));
  servers = await Promise.all(
    LEVELS.map((level, i) => startHostileVncServer({ socketPath: join(socketDir, `${level}.sock`), mode: 'fake-band', desktopName: level, fakeBandColour: i ? [0x80, 0x10, 0x10] : [0x10, 0x80, 0x10] })),
  );
  sup = await startSupervisor(twoLevelPolicy({ low: vncCage(join(socketDir, 'low.sock')), high: vncCage(join(socketDir, 'high.sock')) }));
});
test.afterAll(async () => {
  await sup?.stop();
  await Promise.all(servers.map((s) => s.close()));
  if (socketDir) rmSync(socketDir, { recursive: true, force: true });
});

test("each viewer, from its page's start to its cage connected", async ({ browser }) => {
  test.setTimeout(120_000);
  const lines: string[] = [];
  for (let start = 1; start <= STARTS; start++) {
    // A new context each start: new viewer renderers, as at npm start.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.addInitScript(() => {
      const seen: Record<string, number> = {};
      (window as unknown as { connectedAt: Record<string, number> }).connectedAt = seen;
      new MutationObserver((changes) => {
        for (const c of changes) {
          const el = c.target as HTMLElement;
          const id = el.dataset.testid ?? '';
          if (el.dataset.viewer === 'connected' && id.startsWith('cage-frame-') && !(id in seen)) seen[id] = Date.now();
        }
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-viewer'] });
    });
    await page.goto(await sup.launchUrl());
    for (const level of LEVELS) await expect(page.getByTestId(`cage-frame-${level}`)).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
    const connectedAt = await page.evaluate(() => (window as unknown as { connectedAt: Record<string, number> }).connectedAt);
    const took: string[] = [];
    for (const level of LEVELS) {
      const origin = await page.frameLocator(`[data-testid=viewer-frame-${level}]`).locator('#screen').evaluate(() => performance.timeOrigin);
      took.push(`${level} ${Math.round(connectedAt[`cage-frame-${level}`]! - origin)} ms`);
    }
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    lines.push(`start ${start}: viewer page → connected ${took.join(', ')}; load ${load}`);
    await context.close();
  }
  console.log(lines.join('\n'));
});
