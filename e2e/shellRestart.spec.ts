/**
 * The shell can die and come back (kiosk restart): the cages keep their processes, and the new
 * shell shows them as they were.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { twoLevelPolicy, xtermCage } from '../supervisor/testing/testPolicy';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';
import { cageLongLivedPids } from './support/cageByUid';

const UIDS = { low: 59721, high: 59722 };
let sup: SupervisorProcess;

test.beforeAll(async () => {
  sup = await startSupervisor(twoLevelPolicy({ low: xtermCage(UIDS.low), high: xtermCage(UIDS.high) }));
});
test.afterAll(async () => {
  await sup?.stop();
});

test('a restarted shell finds the cages and their work as they were', async ({ browser }) => {
  const first = await browser.newPage();
  await first.goto(await sup.launchUrl());
  await expect(first.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  // Leave some work in the low terminal.
  await expect
    .poll(
      async () => {
        await first.getByTestId('viewer-low').click({ position: { x: 300, y: 300 } });
        await first.keyboard.type('echo kept > ~/kept.txt\n', { delay: 10 });
        try {
          return readFileSync(`${sup.homeOf('low')}/kept.txt`, 'utf8').trim();
        } catch {
          return '';
        }
      },
      { timeout: 20_000 },
    )
    .toBe('kept');
  const before = { low: cageLongLivedPids(UIDS.low), high: cageLongLivedPids(UIDS.high) };
  expect(before.low.length).toBeGreaterThan(2); // Xvnc, openbox, xterm
  await first.close(); // the shell is gone

  // A new shell gets a new launch address, the way npm start or the kiosk unit would get it.
  const second = await browser.newPage();
  await second.goto(await sup.launchUrl());
  await expect(second.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  await expect(second.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
  // Every long-lived process the cages had (Xvnc, openbox, the terminals) is still there: a helper the
  // supervisor ran for a moment as the cage (an X tool through the manager) may have ended meanwhile.
  expect(cageLongLivedPids(UIDS.low)).toEqual(expect.arrayContaining(before.low));
  expect(cageLongLivedPids(UIDS.high)).toEqual(expect.arrayContaining(before.high));
  await second.screenshot({ path: test.info().outputPath('after-restart.png') });
});
