/**
 * An administrator changes a level's colour and name and reloads the policy: the shell's band and
 * frame show them at once, the cages keep running (no reconnect, no restart). Split, `cloison policy
 * reload` (root) signals the cage manager, which passes the reload on to its part.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { runCliWithSupervisor } from '../supervisor/cli/cloison';
import { HIGH_COLOUR } from '../supervisor/testing/testPolicy';
import { SPLIT } from '../supervisor/testing/splitSupervisor';
import { openShell, startSupervisor, twoCagePolicy, type SupervisorProcess } from './support/supervisorProcess';

let sup: SupervisorProcess;
test.beforeAll(async () => {
  sup = await startSupervisor(twoCagePolicy());
});
test.afterAll(async () => {
  await sup?.stop();
});

test('a reloaded policy recolours and renames a level in the open shell', async ({ page }) => {
  await openShell(page, sup);
  const policyFile = join(sup.root, 'policy.yaml');
  writeFileSync(policyFile, readFileSync(policyFile, 'utf8').replace(`colour: "${HIGH_COLOUR}"`, 'colour: "#6a1b9a"').replace('{ fr: Haut, en: High }', '{ fr: Diffusion restreinte, en: Restricted }'));
  // As the administrator does it, the moment the file is saved: `cloison policy reload` (the manager
  // takes a file only once settled, and the command asks again a moment later).
  const out: string[] = [];
  // Split, the command (root) signals the cage manager, whose run folder it is told, and waits for the part to run its text.
  expect(await runCliWithSupervisor(['policy', 'reload', '--socket', join(sup.root, 'run', 'admin.sock'), '--manager-run-dir', sup.cageRunDir], (s) => out.push(s), () => undefined)).toBe(0);
  expect(out.join('\n')).toMatch(/^decision: applied$/m);
  expect(out.join('\n')).toMatch(SPLIT ? /^cloison part: runs it$/m : /^restarted: \[\]$/m);
  await page.getByTestId('switch-high').click();
  await expect(page.getByTestId('band-level-name')).toContainText('Diffusion restreinte');
  await expect(page.getByTestId('level-band')).toHaveCSS('background-color', 'rgb(106, 27, 154)');
  await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
});
