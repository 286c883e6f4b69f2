/**
 * `training.spoof` and `training.document` behind the real manager socket, asked by a real process
 * of the part's account, on a real bwrap cage whose launcher the manager holds: the training
 * look-alikes get requests of their own, so `app.launch` stays exactly the policy's apps.
 * Refused and journaled: a second look-alike while one is up, any training where the policy
 * forbids it, a document name with a slash or `..`, a level carrying a bwrap argument. Seen with
 * naive executors: a look-alike per request left two up for two requests; past the check, a name
 * `../.profile` wrote the cage's ~/.profile. Now one at a time, and the name checked again.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { SPOOF_MARK } from '../cages/trainingPrograms';
import { levelViews } from '../policy/levelViews';
import { parsePolicy } from '../policy/policyLoader';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { sendFramesAs } from '../testing/rawFramesAs';
import { startRealCage, type RealCage } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { type RootExecutors } from './cageManagerServer';
import { trainingDocumentExecutor } from './trainingDocumentExecutor';
import { trainingSpoofExecutor } from './trainingSpoofExecutor';

let cage: RealCage;
let manager: ServedManager;
let training: 'allowed' | 'forbidden' = 'allowed';
let policy: Policy;
const currentPolicy = () => policy;
const setTraining = (value: 'allowed' | 'forbidden') => {
  training = value;
  policy = parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: cage.uid }), high: bwrapCage({ uid: 58808 }) }, `training: ${training}\n`), 'p.yaml');
};
let spoof: NonNullable<RootExecutors['training.spoof']>;
let document: NonNullable<RootExecutors['training.document']>;
const real = () => {
  spoof = trainingSpoofExecutor({ policy: currentPolicy, cage: (level) => (level === 'low' ? cage.cage : null) });
  document = trainingDocumentExecutor({ policy: currentPolicy, cage: (level) => (level === 'low' ? cage.cage : null) });
};

async function ask(request: unknown): Promise<{ reply: { ok: boolean; result?: Record<string, unknown>; error?: { code: string; message: string } }; journaled: Array<Record<string, unknown>> }> {
  const seen = manager.refusals().length;
  const outcome = await sendFramesAs(manager.cloison, manager.socketPath, [{ json: { id: 1, request } }]);
  expect(outcome.replies).toHaveLength(1);
  return { reply: outcome.replies[0] as never, journaled: manager.refusals().slice(seen) };
}
function expectRefused(outcome: Awaited<ReturnType<typeof ask>>, op: string, reason: RegExp): void {
  expect(outcome.reply).toMatchObject({ ok: false, error: { message: expect.stringMatching(reason) } });
  expect(outcome.journaled).toEqual([expect.objectContaining({ actor: 'cloison', op, peerUid: manager.cloison.uid })]);
}
/** The look-alikes up in the cage (their terminal's title is the drill's mark). */
const lookAlikePids = () => spawnSync('pgrep', ['-u', String(cage.uid), '-f', '--', `-title ${SPOOF_MARK}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
const lookAlikes = async () => lookAlikePids().length;
const peer = () => ({ uid: manager.cloison.uid, gid: manager.cloison.gid, pid: process.pid });

beforeAll(async () => {
  cage = await startRealCage({ level: 'low' });
  setTraining('allowed');
  real();
  manager = await serveManagerToCloison({ prefix: 'cloison-tx-', policy: currentPolicy, executors: () => ({ 'training.spoof': (req, p) => spoof(req, p), 'training.document': (req, p) => document(req, p) }) });
}, 60_000);

afterAll(async () => {
  await manager?.close(() => cage?.stop());
}, 30_000);

describe('training.spoof', () => {
  it('one look-alike, the drill\'s own, at a time; a second refused and journaled; hidden, it is gone; none where the policy forbids training', async () => {
    const shown = await ask({ op: 'training.spoof', level: 'low', look: 'band', action: 'show' });
    expect(shown.reply).toMatchObject({ ok: true, result: { shown: true, pid: expect.any(Number) } });
    await waitFor(async () => (await lookAlikes()) === 1, 'the look-alike', 10_000);
    const cmd = (await cage.sh(`tr '\\0' ' ' < /proc/${shown.reply.result!.pid}/cmdline`)).stdout;
    expect(cmd).toContain(`-title ${SPOOF_MARK}`);
    // The band is the other level's: its label, from the policy, not from the request.
    expect(cmd).toContain(levelViews(policy).find((l) => l.id === 'high')!.label.fr.toUpperCase());
    expectRefused(await ask({ op: 'training.spoof', level: 'low', look: 'lock', action: 'show' }), 'training.spoof', /one at a time/);
    expect(await lookAlikes()).toBe(1);
    expect((await ask({ op: 'training.spoof', level: 'low', look: 'band', action: 'hide' })).reply).toMatchObject({ ok: true, result: { shown: false } });
    expect(await lookAlikes()).toBe(0);
    // A level id carrying a bwrap argument: refused at the door.
    expectRefused(await ask({ op: 'training.spoof', level: 'low --bind / /', look: 'band', action: 'show' }), 'training.spoof', /level/);
    setTraining('forbidden');
    try {
      expectRefused(await ask({ op: 'training.spoof', level: 'low', look: 'band', action: 'show' }), 'training.spoof', /forbids training/);
      // Past the check (a reload between the check and the act): the executor reads the policy again.
      await expect(spoof({ op: 'training.spoof', level: 'low', look: 'band', action: 'show' }, peer())).rejects.toThrow(/forbids training/);
      expect(await lookAlikes()).toBe(0);
    } finally {
      setTraining('allowed');
    }
  }, 60_000);
});

describe('training.document', () => {
  it('writes the document in ~/Formation as the cage\'s user; a path refused at the door and again past it; none where training is forbidden', async () => {
    expect((await ask({ op: 'training.document', level: 'low', name: 'Note de service.txt', content: 'Diffusion restreinte\n' })).reply).toEqual({ id: 1, ok: true, result: { written: true } });
    const stat = (await cage.sh('stat -c "%u %s" "$HOME/Formation/Note de service.txt"; cat "$HOME/Formation/Note de service.txt"')).stdout;
    expect(stat).toBe(`${cage.uid} 21\nDiffusion restreinte\n`);
    for (const name of ['../.profile', 'a/b', '.hidden', '..']) {
      expectRefused(await ask({ op: 'training.document', level: 'low', name, content: 'x' }), 'training.document', /file name/);
    }
    await expect(document({ op: 'training.document', level: 'low', name: '../.profile', content: 'echo planted\n' }, peer())).rejects.toThrow(/not a plain file name/);
    expect((await cage.sh('test -e "$HOME/.profile" && echo present || echo absent')).stdout).toBe('absent\n');
    setTraining('forbidden');
    try {
      expectRefused(await ask({ op: 'training.document', level: 'low', name: 'b.txt', content: 'x' }), 'training.document', /forbids training/);
      await expect(document({ op: 'training.document', level: 'low', name: 'b.txt', content: 'x' }, peer())).rejects.toThrow(/forbids training/);
      expect((await cage.sh('test -e "$HOME/Formation/b.txt" && echo present || echo absent')).stdout).toBe('absent\n');
    } finally {
      setTraining('allowed');
    }
  }, 60_000);
});
