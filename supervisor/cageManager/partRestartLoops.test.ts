/**
 * A training key the `cloison` part had attached, when the part crashes and the manager starts it
 * again (partRestartLoops.ts, called from managerMain.ts's `restarting`): a real manager process with
 * a real part (testing/partRestartLoopsPart.ts as `--part`, the `cloison` account). The part makes
 * a key's image in the training keys' folder, has the manager attach it (`loop.attach`) and
 * crashes; the manager detaches it and journals it. Seen before (the hook left out): after the
 * restart the loop device was still over the old part's image, which no part knew of any more.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detachLoop } from '../cages/loopDevice';
import { PART_REPORT_MARK } from '../testing/managerPartPlan';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { MANAGER_JOURNAL_FILE } from './managerExecutors';

const REPO = resolve(__dirname, '..', '..');
let root: string;
let state: string;
let run: string;
let cloison: PamTestUser;
let manager: ChildProcess | null = null;
let stderr = '';
const reports: Array<{ step: string } & Record<string, unknown>> = [];
const step = (name: string) => reports.find((r) => r.step === name);

/** The file a loop device is over, or null when it is over none. */
function backingFile(device: string): string | null {
  try {
    return readFileSync(`/sys/block/${basename(device)}/loop/backing_file`, 'utf8').trimEnd();
  } catch {
    return null;
  }
}

beforeAll(async () => {
  root = testRoot('cloison-prl-');
  chmodSync(root, 0o711);
  state = join(root, 'state');
  run = join(root, 'run');
  mkdirSync(run, { mode: 0o755 });
  chmodSync(run, 0o755);
  cloison = createPamTestUser();
  mkdirSync(join(root, 'partflag'));
  chownSync(join(root, 'partflag'), cloison.uid, cloison.gid);
  const policyFile = join(root, 'policy.yaml');
  writeFileSync(policyFile, twoLevelPolicy({ low: bwrapCage({ uid: 61830 }), high: bwrapCage({ uid: 61831 }) }, 'training: allowed\n'), { mode: 0o644 });
  const argv = ['--import', 'tsx', join(REPO, 'supervisor/cageManager/managerMain.ts'), '--policy', policyFile, '--state-dir', state, '--run-dir', run, '--peer-user', cloison.user, '--part', join(REPO, 'supervisor/testing/partRestartLoopsPart.ts')];
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
  // Left attached by a failing run: detached here, only if still over this test's image.
  const first = step('first') as { device?: string; image?: string } | undefined;
  if (first?.device && first.image && backingFile(first.device)?.startsWith(first.image)) await detachLoop(first.device);
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('the cloison part restarted with a training key attached', () => {
  it('the manager detaches the key\'s loop device and journals it', async () => {
    await waitFor(() => !!step('second') || manager!.exitCode !== null, 'the part started again', 60_000);
    const first = step('first') as unknown as { ok: boolean; device: string; image: string };
    expect(first).toMatchObject({ ok: true, device: expect.stringMatching(/^\/dev\/loop\d+$/) });
    expect(stderr).toMatch(/"msg":"cloison part ended: starting it again"/);
    // No longer over the old part's image (detached; the device may since be another's).
    expect(backingFile(first.device) ?? '').not.toContain(first.image);
    const journal = readFileSync(join(state, MANAGER_JOURNAL_FILE), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(journal.filter((r) => r.kind === 'loop.partRestartDetach')).toEqual([expect.objectContaining({ actor: 'supervisor', device: first.device, image: first.image, outcome: 'detached', reason: expect.stringMatching(/cloison part ended/) })]);
  }, 90_000);
});
