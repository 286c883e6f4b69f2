/**
 * A training session end to end, with real cages and Debian's Chromium: one scenario with a drill
 * of each kind (two look-alikes), run by a trainee as the test plays them — typing a password into
 * a fake lock screen (the spoofing cage's key logger shows it; the look-alike is a true cage
 * process, Seccomp 2 in the cage's control group; the count is the gateway's; what was typed is
 * gone from the cage once the drill is over), then pressing the secure-attention
 * key and reporting a fake band, choosing the right level, refusing a downgrade, putting a training
 * key where it belongs — to a report whose numbers match. The band is marked TRAINING in every
 * screenshot, until the trainer stops the session. A policy without `training: allowed` refuses the
 * session before anything starts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { adminCall } from '../supervisor/cli/adminClient';
import { bwrapCage, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { processesInCage } from '../supervisor/testing/cageProcesses';
import { waitFor } from '../supervisor/testing/waitFor';
import { SPOOF_MARK } from '../supervisor/cages/trainingPrograms';
import { KEY_LOGGER_APP, rawKeyPresses } from './support/cageProbes';
import { cagePids, cageShellForUid } from './support/cageByUid';
import { Screenshot } from './support/pixels';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

const UIDS = { low: 59831, high: 59832 };
const REPO = fileURLToPath(new URL('..', import.meta.url));
const SCENARIO = `version: 1
title: { fr: Essai complet, en: Full run }
drills:
  - { kind: spoof, level: high, look: lock, afterSeconds: 1, timeLimitSeconds: 60, card: { fr: "Passez dans Haut.", en: "Go to High." } }
  - { kind: spoof, level: high, look: band, afterSeconds: 1, timeLimitSeconds: 60, card: { fr: "Restez dans Haut.", en: "Stay in High." } }
  - kind: right-level
    card: { fr: "Ouvrez le budget DR là où il doit l'être.", en: "Open the Restricted budget where it belongs." }
    document: { name: budget-DR.txt, content: "DIFFUSION RESTREINTE" }
    expect: high
  - { kind: downgrade, from: high, to: low, content: "calendrier DR", card: { fr: "Collez le calendrier dans Bas.", en: "Paste the schedule into Low." } }
  - kind: usb
    card: { fr: "Branchez la clé DOSSIER-DR.", en: "Plug in the DOSSIER-DR key." }
    key: { label: DOSSIER-DR, files: { "piece.txt": "DR" } }
    expect: { level: high, mode: read-only }
`;

let dir: string;
let sup: SupervisorProcess;
let shot = 0;

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cloison-training-'));
  writeFileSync(join(dir, 'scenario.yaml'), SCENARIO);
  const cage = (uid: number) => bwrapCage({ uid, geometry: '1024x640', apps: `[[xterm, -geometry, 120x40+0+0], ${KEY_LOGGER_APP}]` });
  sup = await startSupervisor(twoLevelPolicy({ low: cage(UIDS.low), high: cage(UIDS.high) }, 'training: allowed\n'), {
    extraArgs: ['--training', join(dir, 'scenario.yaml'), '--trainee', 'Alice Martin', '--report-dir', join(dir, 'reports')],
  });
});
test.afterAll(async () => {
  await sup?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The mark's yellow (#f2c200), also when a trusted dialog's backdrop dims the band. */
function isMarkYellow(colour: string): boolean {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16)) as [number, number, number];
  return r > 30 && Math.abs(g / r - 194 / 242) < 0.05 && b < r * 0.05;
}

/** A screenshot, with the training mark in the band (its yellow stripes, drawn by the shell). */
async function markedShot(page: Page, name: string): Promise<void> {
  await expect(page.getByTestId('band-training')).toBeVisible();
  const s = new Screenshot(await page.screenshot({ path: test.info().outputPath(`${++shot}-${name}.png`) }));
  expect([...s.coloursIn(0, 0, 400, 48)].some(isMarkYellow), `${name}: the mark's yellow in the band`).toBe(true);
}

async function answer(page: Page, id: string): Promise<void> {
  await page.getByTestId(`training-answer-${id}`).click();
}

async function reportAnomaly(page: Page, text: string): Promise<void> {
  await page.keyboard.press('Pause');
  await page.getByTestId('overview-report').click();
  await expect(page.getByTestId('report-dialog')).toHaveAttribute('data-armed', 'true');
  await page.getByTestId('report-text').fill(text);
  await page.getByTestId('report-send').click();
}

test('a scenario with a drill of each kind runs to its report; the report matches what the trainee did', async ({ page }) => {
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
  await markedShot(page, 'intro');
  await answer(page, 'begin');

  // 1. A fake lock screen in high: this trainee types the password into it, then reports too late.
  await page.getByTestId('switch-high').click();
  await expect(page.getByTestId('training-card')).toContainText('Passez dans Haut');
  await page.waitForTimeout(3000); // the look-alike appears after a second, then xterm starts
  // Its process, started in the cage: later than those 3 s on a loaded machine.
  await waitFor(() => processesInCage(cagePids(UIDS.high)[0]!).some((p) => p.command.includes(SPOOF_MARK)), 'the look-alike running in high', 30_000).catch(() => undefined);
  await markedShot(page, 'fake-lock');
  // The look-alike, and everything else in the high cage, runs under its filter and in its control group.
  const inHigh = processesInCage(cagePids(UIDS.high)[0]!);
  const xvnc = inHigh.find((p) => p.command.startsWith('Xvnc'))!;
  expect(inHigh.some((p) => p.command.includes(SPOOF_MARK))).toBe(true);
  for (const p of inHigh) expect([p.command, p.seccomp, p.capEff, p.cgroup]).toEqual([p.command, 2, '0000000000000000', xvnc.cgroup]);
  const before = rawKeyPresses(sup.homeOf('high')).length;
  await page.getByTestId('viewer-high').click({ position: { x: 400, y: 300 } });
  await page.keyboard.type('motdepasse\n', { delay: 20 });
  await expect.poll(() => rawKeyPresses(sup.homeOf('high')).length - before).toBeGreaterThanOrEqual(11); // the cage saw every key
  await reportAnomaly(page, 'écran de verrouillage dans Haut');
  await expect(page.getByTestId('training-panel')).toHaveAttribute('data-phase', 'feedback');
  await expect(page.getByTestId('training-card')).toContainText('À revoir');
  await markedShot(page, 'feedback-missed');
  // What the trainee typed into it (their password, for all they knew) is nowhere in the cage now.
  const high = cageShellForUid(UIDS.high);
  expect((await high('grep -rlasE "motdepass[e]" "$HOME" /tmp /var/tmp /dev/shm; pgrep -f cloison-training-spoo[f]; echo searched')).stdout).toBe('searched\n');
  await answer(page, 'continue');

  // 2. A fake band in high: this time, the secure-attention key first, then the report. Nothing reaches the cage.
  await page.waitForTimeout(3000);
  await markedShot(page, 'fake-band');
  const quiet = rawKeyPresses(sup.homeOf('high')).length;
  await reportAnomaly(page, 'faux bandeau vert dans Haut');
  await expect(page.getByTestId('training-card')).toContainText('Réussi');
  expect(rawKeyPresses(sup.homeOf('high')).length).toBe(quiet);
  await answer(page, 'continue');

  // 3. The right level for a Restricted document.
  await answer(page, 'open:high');
  await expect.poll(() => existsSync(join(sup.homeOf('high'), 'Formation', 'budget-DR.txt'))).toBe(true);
  await answer(page, 'continue');

  // 4. A downgrade request: refused.
  await answer(page, 'refuse');
  await expect(page.getByTestId('training-card')).toContainText('Réussi');
  await answer(page, 'continue');

  // 5. A training key: attached where it belongs.
  await expect(page.getByTestId('device-dialog')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByTestId('device-dialog')).toHaveAttribute('data-armed', 'true');
  await markedShot(page, 'usb');
  await page.getByTestId('device-attach-high-read-only').click();
  await expect(page.getByTestId('training-card')).toContainText('Réussi', { timeout: 10_000 });
  await expect(page.getByTestId('flow-view')).toHaveAttribute('data-count', /[1-9]/);
  await markedShot(page, 'flows');
  await answer(page, 'continue');

  await expect(page.getByTestId('training-panel')).toHaveAttribute('data-phase', 'finished');
  const reportHtml = (await page.getByTestId('training-report').textContent())!.replace(/^.*?(\/\S+\.html).*$/, '$1');
  await markedShot(page, 'finished');
  const report = JSON.parse(readFileSync(reportHtml.replace(/\.html$/, '.json'), 'utf8'));
  expect(report).toMatchObject({ trainee: 'Alice Martin', passed: 4, total: 5 });
  expect(report.drills.map((d: { kind: string; passed: boolean }) => [d.kind, d.passed])).toEqual([
    ['spoof', false],
    ['spoof', true],
    ['right-level', true],
    ['downgrade', true],
    ['usb', true],
  ]);
  expect(report.drills[0].typedIntoFake).toBe(11); // "motdepasse" and its Enter
  expect(report.drills[1]).toMatchObject({ typedIntoFake: 0 });
  expect(report.drills[1].seconds).toBeGreaterThan(0);
  expect(readFileSync(reportHtml, 'utf8')).toContain('FORMATION / TRAINING');

  // The trainer ends the session: the mark leaves the band, back to work.
  expect(await adminCall(join(sup.root, 'run', 'admin.sock'), 'training.stop')).toMatchObject({ ok: true, result: { report: reportHtml } });
  await expect(page.getByTestId('band-training')).toHaveCount(0);
  await expect(page.getByTestId('training-panel')).toHaveCount(0);
  await page.screenshot({ path: test.info().outputPath(`${++shot}-stopped.png`) });
});

test('a policy without `training: allowed` refuses a training session, with the reason', () => {
  const root = mkdtempSync(join(tmpdir(), 'cloison-notraining-'));
  writeFileSync(join(root, 'policy.yaml'), twoLevelPolicy({ low: bwrapCage({ uid: 59833 }), high: bwrapCage({ uid: 59834 }) }));
  writeFileSync(join(root, 'scenario.yaml'), SCENARIO);
  const r = spawnSync(process.execPath, [join(REPO, 'out/supervisor/main.js'), '--policy', join(root, 'policy.yaml'), '--state-dir', join(root, 's'), '--run-dir', join(root, 'r'), '--training', join(root, 'scenario.yaml')], { encoding: 'utf8', timeout: 30_000 });
  rmSync(root, { recursive: true, force: true });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('this policy does not allow training sessions');
  expect(r.stdout).toBe(''); // nothing started, no ready line
});
