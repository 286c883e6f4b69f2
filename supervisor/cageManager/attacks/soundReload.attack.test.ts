/**
 * Attack (the sound through the manager, #29): the real manager process (managerMain.ts, as root)
 * with its real `cloison` part, which asks for the low level's host recorder (`sound.host`, parec
 * as the workstation's test account on a real PulseAudio) and keeps its end. The policy file then
 * takes the microphone away from low and the manager is sent SIGHUP. Seen before (the reload
 * ending nothing): the recorder ran on, the part still holding the host microphone's sound (and
 * its own stop, asking again, refused by the new policy). Now the reload ends it at the manager.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostSoundServer, type HostSoundServer } from '../../testing/hostSoundServer';
import { PART_REPORT_MARK } from '../../testing/managerPartPlan';
import { createPamTestUser, type PamTestUser } from '../../testing/pamTestUser';
import { testRoot } from '../../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { waitFor } from '../../testing/waitFor';

const REPO = resolve(__dirname, '..', '..', '..');
/** startHostSoundServer's account (setup.sh makes it): the workstation user here. */
const WORKSTATION = 'cloison-shell-test';
const policyText = (microphone: string) => twoLevelPolicy({ low: bwrapCage({ uid: 58842 }), high: bwrapCage({ uid: 58843 }) }, `audio: { enabled: true, microphone: [${microphone}] }\n`);

let root: string;
let host: HostSoundServer;
let cloison: PamTestUser;
let manager: ChildProcess | null = null;
let stderr = '';
const reports: Array<Record<string, unknown>> = [];

const recorders = () =>
  readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      return argv[0]!.endsWith('parec') && argv.includes('--stream-name=Cloison low (microphone)') && readFileSync(`/proc/${p}/environ`, 'utf8').includes(host.target.server);
    } catch {
      return false;
    }
  }).map(Number);

beforeAll(async () => {
  root = testRoot('cloison-sr-');
  chmodSync(root, 0o711);
  host = await startHostSoundServer(WORKSTATION);
  cloison = createPamTestUser();
  writeFileSync(join(root, 'policy.yaml'), policyText('low'));
  const argv = ['--import', 'tsx', join(REPO, 'supervisor/cageManager/managerMain.ts'), '--policy', join(root, 'policy.yaml'), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--peer-user', cloison.user, '--shell-user', WORKSTATION, '--audio-server', host.target.server, '--part', join(REPO, 'supervisor/testing/soundReloadRequester.ts')];
  manager = spawn(process.execPath, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: manager.stderr! }).on('line', (line) => {
    stderr += `${line}\n`;
    const mark = `cloison part: ${PART_REPORT_MARK}`;
    if (line.startsWith(mark)) reports.push(JSON.parse(line.slice(mark.length)) as Record<string, unknown>);
  });
  await new Promise<void>((resolve, reject) => {
    manager!.once('exit', (code) => reject(new Error(`the manager ended (${code}): ${stderr}`)));
    createInterface({ input: manager!.stdout! }).once('line', () => resolve());
  });
}, 60_000);

afterAll(async () => {
  if (manager && manager.exitCode === null) {
    const gone = new Promise((r) => manager!.once('exit', r));
    manager.kill('SIGTERM');
    await gone;
  }
  for (const pid of host ? recorders() : []) process.kill(pid, 'SIGKILL');
  host?.stop();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('a reload that takes the microphone away', () => {
  it('ends the level\'s host recorder the part holds, at the manager', async () => {
    await waitFor(() => reports.some((r) => r.step === 'recorder'), 'the part\'s recorder', 60_000);
    const answer = reports.find((r) => r.step === 'recorder')!;
    expect(answer, stderr.slice(-800)).toMatchObject({ result: { pid: expect.any(Number) } });
    const pid = (answer.result as { pid: number }).pid;
    // The pid is setpriv's until it executes parec: on a loaded machine that is not yet done when the part reports.
    await waitFor(() => recorders().includes(pid), 'the recorder running as parec', 10_000).catch(() => undefined);
    expect(recorders()).toEqual([pid]);
    writeFileSync(join(root, 'policy.yaml'), policyText(''));
    manager!.kill('SIGHUP');
    await waitFor(() => stderr.includes('policy reloaded'), 'the reload');
    await waitFor(() => recorders().length === 0, 'the recorder ended', 10_000).catch(() => undefined);
    console.log(`host recorder ${pid} after the reload: ${recorders().length ? 'running' : 'ended'}`);
    expect(recorders()).toEqual([]);
    expect(manager!.exitCode).toBeNull();
  }, 90_000);
});
