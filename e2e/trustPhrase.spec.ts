/**
 * The trust phrase: asked on first start by a dialog that ignores clicks in its first 500 ms,
 * shown in the band and the overview, changed only from the overview, and never sent to a cage —
 * checked on every byte a (recording) VNC endpoint received during a scripted session.
 */
import { existsSync, readFileSync } from 'node:fs';
import { removeTestRoots, testRoot } from '../supervisor/testing/testRoots';
import { join } from 'node:path';
import { bwrapCage, twoLevelPolicy, vncCage } from '../supervisor/testing/testPolicy';
import { expect, test } from '@playwright/test';
import { startHostileVncServer, type HostileVncServer } from './tools/hostileVncServer';
import { waitFor } from '../supervisor/testing/waitFor';
import { keysymsIn } from './support/cageProbes';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

const FIRST = 'Ma grand-mère tricote des éclairs';
const SECOND = 'Zèbre violet sous la pluie';
let recorder: HostileVncServer;
let sup: SupervisorProcess;

test.beforeAll(async () => {
  const socketPath = join(testRoot('cloison-rec-'), 'vnc.sock');
  recorder = await startHostileVncServer({ socketPath, desktopName: 'recorder', fakeBandColour: [0x30, 0x30, 0x30] });
  sup = await startSupervisor(
    twoLevelPolicy({ low: vncCage(socketPath), high: bwrapCage({ geometry: '800x600' }) }),
    { trustPhrase: null },
  );
});
test.afterAll(async () => {
  await sup?.stop();
  await recorder?.close();
  removeTestRoots();
});

test('first start asks for the phrase, ignores a hasty click, and the phrase never reaches a cage', async ({ page }) => {
  // The hasty user: the moment the dialog appears, fill it and click its button, in the same task.
  await page.addInitScript((phrase) => {
    const observer = new MutationObserver(() => {
      const input = document.querySelector<HTMLInputElement>('[data-testid=trust-phrase-input]');
      const save = document.querySelector<HTMLButtonElement>('[data-testid=trust-save]');
      if (!input || !save) return;
      observer.disconnect();
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, phrase);
      input.dispatchEvent(new Event('input', { bubbles: true }));
      save.disabled = false; // even a page script forcing the button cannot confirm early
      save.click();
      (window as unknown as { hastyClick: boolean }).hastyClick = true;
    });
    observer.observe(document, { childList: true, subtree: true });
  }, FIRST);
  await page.goto(await sup.launchUrl());
  const dialog = page.getByTestId('trust-dialog');
  await expect(dialog).toBeVisible();
  const file = join(sup.stateDir, 'trust-phrase.json');
  expect(await page.evaluate(() => (window as unknown as { hastyClick?: boolean }).hastyClick)).toBe(true);
  await page.waitForTimeout(700);
  await expect(dialog).toBeVisible();
  expect(existsSync(file)).toBe(false);
  await page.screenshot({ path: test.info().outputPath('first-start.png') });

  await expect(dialog).toHaveAttribute('data-armed', 'true');
  await page.getByTestId('trust-phrase-input').fill('');
  await page.getByTestId('trust-phrase-input').pressSequentially(FIRST, { delay: 5 });
  await page.getByTestId('trust-save').click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId('band-trust')).toContainText(FIRST);
  expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ phrase: FIRST });

  // Use the low cage a little: it gets keys, as it should.
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  await page.getByTestId('viewer-low').click({ position: { x: 200, y: 200 } });
  await page.keyboard.type('hello', { delay: 5 });
  // Its viewer is a renderer of its own: the last key may still be on its way when Pause hides it.
  const typedSoFar = () => String.fromCodePoint(...keysymsIn(Buffer.concat(recorder.received)).filter((k) => k < 0x100));
  await expect.poll(typedSoFar, { timeout: 10_000 }).toContain('hello');

  // Change it, from the overview only, typing it while the low cage was the last to have keys.
  await page.keyboard.press('Pause');
  await page.getByTestId('overview-trust-change').click();
  await expect(dialog).toHaveAttribute('data-armed', 'true');
  await page.getByTestId('trust-phrase-input').pressSequentially(SECOND, { delay: 5 });
  await page.getByTestId('trust-save').click();
  await expect(page.getByTestId('band-trust')).toContainText(SECOND);
  await page.keyboard.press('Pause');
  await expect(page.getByTestId('overview-trust')).toContainText(SECOND);
  await page.keyboard.press('Escape');
  await page.getByTestId('viewer-low').click({ position: { x: 200, y: 200 } });
  await page.keyboard.type('bye', { delay: 5 });
  await page.waitForTimeout(500);
  // As with 'hello': its viewer's last key may still be on its way on a loaded machine.
  await waitFor(() => typedSoFar().includes('bye'), "'bye' reaching the cage", 15_000).catch(() => undefined);

  const stream = Buffer.concat(recorder.received);
  const typed = typedSoFar();
  expect(typed).toContain('hello'); // the recorder did see what was meant for the cage…
  expect(typed).toContain('bye');
  for (const phrase of [FIRST, SECOND]) {
    expect(stream.includes(Buffer.from(phrase))).toBe(false); // …and never the phrase, in any form
    expect(typed.toLowerCase()).not.toContain(phrase.toLowerCase().slice(0, 8));
  }
  // The journal says the phrase was set and changed, and never what it is.
  const journal = readFileSync(join(sup.stateDir, 'audit.jsonl'), 'utf8');
  expect(journal.match(/"kind":"trust.set"/g)?.length).toBe(2);
  expect(journal).not.toContain(FIRST);
  expect(journal).not.toContain(SECOND);
});
