/**
 * Sound per level in the shell, with real sound servers (the host's, started by the test; one in
 * each real cage): the band shows which level plays, from what the supervisor measures; the
 * overview mutes a level and gives the microphone to the one level the policy allows, and the
 * band then says that level listens.
 */
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { startHostSoundServer, type HostSoundServer } from '../supervisor/testing/hostSoundServer';
import { bwrapCage, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { toneWav } from '../supervisor/testing/tones';
import { cageShellForUid } from './support/cageByUid';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

const UIDS = { low: 59851, high: 59852 };
let host: HostSoundServer;
let sup: SupervisorProcess;

test.beforeAll(async () => {
  host = await startHostSoundServer();
  const cage = (uid: number) => bwrapCage({ uid, geometry: '1024x640', apps: '[[xterm, -geometry, 120x40+0+0]]' });
  sup = await startSupervisor(twoLevelPolicy({ low: cage(UIDS.low), high: cage(UIDS.high) }, 'audio: { microphone: [high] }\n'), { extraArgs: ['--audio-server', host.target.server, '--shell-user', 'cloison-shell-test'] });
});
test.afterAll(async () => {
  await sup?.stop();
  host?.stop();
});

test('the band shows who plays; the overview mutes a level and gives the microphone to high', async ({ page }) => {
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  const tone = join(sup.homeOf('low'), 'tone.wav');
  writeFileSync(tone, toneWav(660, 60));
  chownSync(tone, UIDS.low, UIDS.low);
  await expect.poll(async () => (await cageShellForUid(UIDS.low)('PULSE_SERVER=unix:/tmp/pulse/native pactl info')).code, { timeout: 15_000 }).toBe(0);
  await cageShellForUid(UIDS.low)('PULSE_SERVER=unix:/tmp/pulse/native paplay ~/tone.wav >/dev/null 2>&1 &');

  await expect(page.getByTestId('sound-low')).toHaveAttribute('data-playing', 'true');
  await expect(page.getByTestId('sound-high')).toHaveAttribute('data-playing', 'false');
  await page.screenshot({ path: test.info().outputPath('sound-band.png') });

  await page.keyboard.press('Pause');
  // The box shows the supervisor's state, not the click's: it turns checked when the supervisor has muted.
  await page.getByTestId('sound-mute-low').click();
  await expect(page.getByTestId('sound-mute-low')).toBeChecked();
  await expect(page.getByTestId('sound-low')).toHaveAttribute('data-muted', 'true');
  await expect(page.getByTestId('mic-give-low')).toHaveCount(0); // the policy names high only
  await page.getByTestId('mic-give-high').click();
  await expect(page.getByTestId('sound-high')).toHaveAttribute('data-recording', 'true');
  await expect(page.getByTestId('mic-release-high')).toBeVisible();
  await page.screenshot({ path: test.info().outputPath('sound-overview.png') });
  await page.getByTestId('mic-release-high').click();
  await expect(page.getByTestId('sound-high')).toHaveAttribute('data-recording', 'false');
});
