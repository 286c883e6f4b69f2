/**
 * The process that accepts browser connections can crash without taking anything else down: the
 * browser part killed with SIGKILL, the root part and both cages run on (the same processes),
 * the root part starts a new browser part on the same address, and the open shell comes back by
 * itself — it reloads once its server answers and presents its resume token: the same session,
 * both viewers connected again, typing reaches the cage in front.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { twoLevelPolicy, xtermCage } from '../supervisor/testing/testPolicy';
import { cageLongLivedPids } from './support/cageByUid';
import { openShell, startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

const UIDS = { low: 59731, high: 59732 };
let sup: SupervisorProcess;

/** The browser part: the supervisor's child that runs the part's bundle. */
function browserPartPid(supervisorPid: number): number | null {
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (new RegExp(`^PPid:\\s+${supervisorPid}$`, 'm').test(status) && cmdline.includes('browserPart.js')) return Number(entry);
    } catch {
      /* gone meanwhile */
    }
  }
  return null;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test.beforeAll(async () => {
  sup = await startSupervisor(twoLevelPolicy({ low: xtermCage(UIDS.low), high: xtermCage(UIDS.high) }));
});
test.afterAll(async () => {
  await sup?.stop();
});

test('the browser part crashes: the root part and the cages run on, a new part listens, the shell comes back by itself', async ({ page }) => {
  await openShell(page, sup);
  const session = await page.evaluate(() => sessionStorage.getItem('cloison.resume'));
  expect(session).toBeTruthy();
  const cagesBefore = { low: cageLongLivedPids(UIDS.low), high: cageLongLivedPids(UIDS.high) };
  expect(cagesBefore.low.length, 'low cage processes').toBeGreaterThan(0);
  expect(cagesBefore.high.length, 'high cage processes').toBeGreaterThan(0);
  const first = browserPartPid(sup.pid);
  expect(first).not.toBeNull();

  process.kill(first!, 'SIGKILL');
  await expect.poll(() => browserPartPid(sup.pid), { timeout: 20_000 }).not.toBe(first);
  await expect.poll(() => browserPartPid(sup.pid), { timeout: 20_000 }).not.toBeNull();
  expect(alive(sup.pid)).toBe(true);
  expect(cageLongLivedPids(UIDS.low)).toEqual(expect.arrayContaining(cagesBefore.low));
  expect(cageLongLivedPids(UIDS.high)).toEqual(expect.arrayContaining(cagesBefore.high));

  // The page reloaded itself with its resume token (spent, so replaced): the same shell, no launch address.
  // Read while the page reloads: a read the reload cuts off counts as "not yet".
  const resumeToken = () => page.evaluate(() => sessionStorage.getItem('cloison.resume')).catch(() => session);
  await expect.poll(resumeToken, { timeout: 30_000 }).not.toBe(session);
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected', { timeout: 30_000 });
  await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected', { timeout: 30_000 });
  await expect
    .poll(
      async () => {
        await page.getByTestId('viewer-low').click({ position: { x: 300, y: 300 } });
        await page.keyboard.type('echo back > ~/back.txt\n', { delay: 10 });
        try {
          return readFileSync(`${sup.homeOf('low')}/back.txt`, 'utf8').trim();
        } catch {
          return '';
        }
      },
      { timeout: 30_000 },
    )
    .toBe('back');
  await page.screenshot({ path: test.info().outputPath('after-part-restart.png') });
});
