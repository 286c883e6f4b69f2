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

test('a reload that swaps the levels\' ranks moves their frames: each frame still shows its own level, from its own origin', async ({ page }) => {
  await openShell(page, sup);
  const originOf = async (level: string) => new URL((await page.getByTestId(`viewer-frame-${level}`).getAttribute('src'))!).origin;
  const before = { low: await originOf('low'), high: await originOf('high') };
  expect(before.low).not.toBe(before.high);
  // The frames made as the page started, before it knew the levels, claimed by their own level's viewer.
  await expect(page.getByTestId('viewer-frame-low')).toHaveAttribute('data-early', 'true');
  await expect(page.getByTestId('viewer-frame-high')).toHaveAttribute('data-early', 'true');
  await expect(page.locator('.early-viewers')).toHaveCount(0);
  // Made as CageViewer.tsx makes its frames: the same sandbox, the same refusal of focus.
  for (const level of ['low', 'high']) {
    await expect(page.getByTestId(`viewer-frame-${level}`)).toHaveAttribute('sandbox', 'allow-scripts allow-same-origin');
    await expect(page.getByTestId(`viewer-frame-${level}`)).toHaveAttribute('allow', "focus-without-user-activation 'none'");
    await expect(page.getByTestId(`viewer-frame-${level}`)).toHaveAttribute('title', level);
  }
  const policyFile = join(sup.root, 'policy.yaml');
  writeFileSync(policyFile, readFileSync(policyFile, 'utf8').replace('rank: 0', 'rank: 9').replace('rank: 1', 'rank: 0').replace('rank: 9', 'rank: 1'));
  const out: string[] = [];
  expect(await runCliWithSupervisor(['policy', 'reload', '--socket', join(sup.root, 'run', 'admin.sock'), '--manager-run-dir', sup.cageRunDir], (s) => out.push(s), () => undefined)).toBe(0);
  expect(out.join('\n')).toMatch(/^decision: applied$/m);
  // High now first on the stage; each level's frame in its own section, from its own origin, connected again.
  await expect(page.getByTestId('stage').locator('section.frame').first()).toHaveAttribute('data-testid', 'cage-frame-high');
  for (const level of ['low', 'high'] as const) {
    await expect(page.getByTestId(`cage-frame-${level}`).getByTestId(`viewer-frame-${level}`)).toHaveCount(1);
    expect(await originOf(level)).toBe(before[level]);
    await expect(page.getByTestId(`cage-frame-${level}`)).toHaveAttribute('data-viewer', 'connected');
  }
  await expect(page.locator('iframe')).toHaveCount(2);
});
