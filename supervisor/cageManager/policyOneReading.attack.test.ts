/**
 * Attacks on the split's two readings of the policy (#29, an attack review): the root manager and
 * the unprivileged part each read the file themselves, so they could run different policies.
 *   1. `systemctl reload` (SIGHUP): the manager refuses the file, yet passes SIGHUP on, and the part
 *      applies what root refused. Seen before: SIGHUP sent after a refusal.
 *   2. The part's own reading: after the manager refused a file (or never read it), the part's
 *      reload took the file as it is on disk. Seen before: the part applied it.
 *   3. A file read mid-write: an administrator saving in place (tee, scp) leaves a shorter file that
 *      still loads (usb.filesystems falling back to all eight). Seen before: the manager applied it.
 */
import { chmodSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { parsePolicy } from '../policy/policyLoader';
import { PolicyReloader } from '../policy/policyReloader';
import { RunningPolicy } from '../policy/runningPolicy';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import type { ManagerRequester } from './managerLink';
import { ManagerPolicyReload, type ManagerReloadAnswer } from './managerPolicyReload';
import { onManagerSighup } from './managerSighup';
import { policyFromManager } from './policyTextFromManager';
import { readSettledPolicyText } from './settledPolicyText';

let root: string;
const cages = { low: bwrapCage({ uid: 58548 }), high: bwrapCage({ uid: 58549 }) };
const RUNNING = twoLevelPolicy(cages, 'usb:\n  filesystems: [vfat]\naudio: { microphone: [] }\n');
/** What the administrator wants next: low gets the microphone, still only vfat keys. */
const NEXT = twoLevelPolicy(cages, 'audio: { microphone: [low] }\nusb:\n  filesystems: [vfat]\n');
/** The same file cut before its usb section: it still loads, every filesystem allowed. */
const NEXT_CUT = NEXT.slice(0, NEXT.indexOf('usb:'));
/** A settled file: last written two seconds ago. */
const settle = (file: string) => utimesSync(file, new Date(Date.now() - 2000), new Date(Date.now() - 2000));

beforeAll(() => {
  root = testRoot('cloison-p1r-');
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o755);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The manager's reload as managerMain.ts builds it, over `file`, with what it applied. */
function managerOver(file: string): { reload: ManagerPolicyReload; applied: Policy[]; journal: Array<Record<string, unknown>> } {
  const applied: Policy[] = [];
  const journal: Array<Record<string, unknown>> = [];
  const reload = new ManagerPolicyReload({ file, text: RUNNING, journal: { append: (kind: string, _actor: string, fields: Record<string, unknown>) => void journal.push({ kind, ...fields }) } as never, apply: (p) => void applied.push(p), log: () => undefined });
  return { reload, applied, journal };
}

/** The part's link to `manager`: only `policy.current`, as the manager's executor answers it. */
function linkTo(manager: ManagerPolicyReload): ManagerRequester {
  return { closed: false, request: async (req: { op: string }) => (req.op === 'policy.current' ? manager.current() : Promise.reject(new Error(`not here: ${req.op}`))) } as unknown as ManagerRequester;
}

describe('one policy reading: the manager\'s', () => {
  it('SIGHUP: a policy the manager refuses is not passed on to the part', () => {
    const signalled: string[] = [];
    const refused: ManagerReloadAnswer = { accepted: false, reason: 'policy.yaml:9:5: levels[0].cage.network.config: readable by others' };
    onManagerSighup({ reload: () => refused, partPid: () => 4243, log: () => undefined, signal: (pid, sig) => void signalled.push(`${sig} to ${pid}`) });
    expect(signalled).toEqual([]);
  });

  it('the part\'s reload takes the manager\'s text, never the file on disk it refused or did not read', async () => {
    const file = join(root, 'part-reads.yaml');
    writeFileSync(file, RUNNING, { mode: 0o644 });
    const manager = managerOver(file);
    const store = new RunningPolicy(parsePolicy(RUNNING, file, 'part'), RUNNING, file, () => policyFromManager(linkTo(manager.reload), file));
    const reloader = new PolicyReloader({ store, journal: { append: () => undefined } as never, apply: async () => undefined });
    // The file changes; the manager has not taken it (no SIGHUP yet, or it refused it).
    writeFileSync(file, NEXT);
    settle(file);
    const outcome = await reloader.reload();
    expect(outcome.decision).toBe('unchanged');
    expect(store.current().audio.microphone).toEqual([]);
    // Once the manager takes it, the part's reload gets it, from the manager.
    expect(await manager.reload.reload('SIGHUP')).toMatchObject({ accepted: true });
    expect((await reloader.reload()).decision).toBe('applied');
    expect(store.current().audio.microphone).toEqual(['low']);
  });

  it('a file being written is not taken: "being written, retry", journaled once; settled, it is', async () => {
    const file = join(root, 'mid-write.yaml');
    writeFileSync(file, RUNNING, { mode: 0o644 });
    const manager = managerOver(file);
    // An in-place save caught half-way: what is there loads, with every filesystem allowed.
    writeFileSync(file, NEXT_CUT);
    expect(parsePolicy(NEXT_CUT, file).usb.filesystems.length).toBeGreaterThan(1);
    const first = await manager.reload.reload('the cloison part');
    const again = await manager.reload.reload('the cloison part');
    expect(first).toMatchObject({ accepted: false, beingWritten: true, reason: expect.stringContaining('being written') });
    expect(again).toMatchObject({ accepted: false, beingWritten: true });
    expect(manager.applied).toEqual([]);
    expect(manager.journal.filter((r) => r.decision === 'being-written')).toHaveLength(1);
    // The save ends and the file settles: taken whole.
    writeFileSync(file, NEXT);
    settle(file);
    expect(await manager.reload.reload('the cloison part')).toMatchObject({ accepted: true });
    expect(manager.applied.map((p) => p.usb.filesystems)).toEqual([['vfat']]);
    expect(manager.reload.current().text).toBe(NEXT);
  });

  it('a file whose mtime is well ahead of the clock (copied from a machine whose clock is ahead) is not held back for good', () => {
    const file = join(root, 'ahead.yaml');
    writeFileSync(file, NEXT, { mode: 0o644 });
    utimesSync(file, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
    expect(readSettledPolicyText(file)).toEqual({ settled: true, text: NEXT });
    // A moment ahead is a write under way.
    utimesSync(file, new Date(Date.now() + 500), new Date(Date.now() + 500));
    expect(readSettledPolicyText(file)).toMatchObject({ settled: false });
  });
});
