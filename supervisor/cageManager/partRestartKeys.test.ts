/**
 * A key the `cloison` part had mounted, when the part crashes and the manager starts it again
 * (partRestartKeys.ts, called from managerMain.ts's `restarting`): a real manager process with a
 * real part (testing/partRestartKeysPart.ts as `--part`, the `cloison` account) and a real key (a loop
 * device over an ext4 image in the folder the policy names). The part mounts the key in low's
 * media folder and crashes; the manager unmounts it and journals it; the part started again finds
 * it unmounted and mounts it again. Seen before (the hook left out): the restarted part found the
 * key still mounted, and the manager refused to mount it again (the device in use), the user left
 * with a key neither part nor shell knew of.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaRootOf } from '../cages/bwrapDriver';
import { PART_REPORT_MARK } from '../testing/managerPartPlan';
import { LoopKeys, type PluggedKey } from '../testing/loopKeys';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { MediaMounts, mountPointsUnder } from '../usb/mediaMounts';
import { MANAGER_JOURNAL_FILE } from './managerExecutors';

const REPO = resolve(__dirname, '..', '..');
let root: string;
let state: string;
let run: string;
let cloison: PamTestUser;
let keys: LoopKeys;
let key: PluggedKey;
let media: MediaMounts;
let manager: ChildProcess | null = null;
let stderr = '';
const reports: Array<{ step: string } & Record<string, unknown>> = [];
const step = (name: string) => reports.find((r) => r.step === name);

beforeAll(async () => {
  root = testRoot('cloison-prk-');
  chmodSync(root, 0o711);
  state = join(root, 'state');
  run = join(root, 'run');
  mkdirSync(run, { mode: 0o755 });
  chmodSync(run, 0o755);
  cloison = createPamTestUser();
  keys = new LoopKeys(root);
  key = await keys.plug({ format: 'ext4', fileName: 'restart.img', label: 'RESTART', files: { 'a.txt': 'on the key' } });
  // The media root shared before the manager starts (its start prepares it too: managerMain.ts).
  media = new MediaMounts(mediaRootOf(run));
  await media.prepare(['low', 'high']);
  mkdirSync(join(root, 'partflag'));
  chownSync(join(root, 'partflag'), cloison.uid, cloison.gid);
  const policyFile = join(root, 'policy.yaml');
  writeFileSync(policyFile, twoLevelPolicy({ low: bwrapCage({ uid: 61810 }), high: bwrapCage({ uid: 61811 }) }, `usb: { unknown: ask, loopDevices: { backingDir: ${keys.backingDir} } }\n`));
  const argv = ['--import', 'tsx', join(REPO, 'supervisor/cageManager/managerMain.ts'), '--policy', policyFile, '--state-dir', state, '--run-dir', run, '--peer-user', cloison.user, '--part', join(REPO, 'supervisor/testing/partRestartKeysPart.ts')];
  manager = spawn(process.execPath, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: manager.stderr! }).on('line', (line) => {
    stderr += `${line}\n`;
    const mark = `cloison part: ${PART_REPORT_MARK}`;
    if (line.startsWith(mark)) reports.push(JSON.parse(line.slice(mark.length)));
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
  await media?.unmountAllUnder();
  await keys?.cleanup();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('the cloison part restarted with a key mounted', () => {
  it('the manager unmounts the keys under the media root and journals it; the part started again mounts the key again', async () => {
    await waitFor(() => !!step('second') || manager!.exitCode !== null, 'the part started again', 60_000);
    console.log(JSON.stringify(reports));
    const target = join(mediaRootOf(run), 'low', 'RESTART');
    expect(step('first')).toMatchObject({ device: key.devnode, mountedBefore: false, ok: true });
    expect(stderr).toMatch(/"msg":"cloison part ended: starting it again"/);
    expect(step('second')).toMatchObject({ device: key.devnode, mountedBefore: false, ok: true });
    // Mounted once, by the second part: not twice, not left from the first.
    expect(mountPointsUnder(mediaRootOf(run)).filter((p) => p === target)).toEqual([target]);
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('on the key');
    const journal = readFileSync(join(state, MANAGER_JOURNAL_FILE), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(journal.filter((r) => r.kind === 'usb.partRestartUnmount')).toEqual([expect.objectContaining({ actor: 'supervisor', point: target, device: key.devnode, outcome: 'unmounted', reason: expect.stringMatching(/cloison part ended/) })]);
  }, 90_000);
});
