/**
 * A cage filling its home never fills the filesystem the journal lives on. With a state filesystem
 * smaller than both homes together (the attack of issue #27: a 256 MiB home on 192 MiB), the home
 * that cannot be reserved whole is not started, with the reason; the other cage runs, the journal
 * keeps writing and high keeps saving while low fills all the home it has. An image from an older
 * version (sparse) is allocated at its next start, and on a filesystem already full it is refused
 * with the reason while the supervisor itself still starts.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../testing/waitFor';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy/policyLoader';
import { Supervisor } from '../supervisor';
import { cageShell, innerPidOf, testRoot } from '../testing/realCage';
import { rpcClient } from '../testing/rpcClient';
import { bwrapCage, twoLevelPolicy, vncCage } from '../testing/testPolicy';
import { STATE_MARGIN_BYTES } from './homeReservation';

const MiB = 2 ** 20;
/**
 * Share of an image found allocated once its cage runs: ext4 zeroes a few blocks through the loop
 * device, which punches them out of the file. What matters is below: the state filesystem keeps its
 * margin, since no image can take more than the size that was reserved for it.
 */
const ALLOCATED = 0.97;
const UIDS = { low: 58598, high: 58599 };
const cage = (level: 'low' | 'high', home: string) => bwrapCage({ uid: UIDS[level], limits: `homeBytes: ${home}` });

describe('homes reserved whole on the state filesystem', () => {
  const mounted: Array<{ state: string; root: string }> = [];
  const running: Supervisor[] = [];
  afterEach(async () => {
    for (const sup of running.splice(0)) await sup.stop().catch(() => undefined); // the mounts go whatever happens
    for (const { state, root } of mounted.splice(0)) {
      execFileSync('umount', ['-l', state]);
      rmSync(root, { recursive: true, force: true });
    }
  });

  /** A state folder that is a tmpfs of `mib`. */
  function stateOf(mib: number): { root: string; state: string } {
    const root = testRoot();
    const state = join(root, 'state');
    mkdirSync(state);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0700`, 'cloison-test-state', state]);
    mounted.push({ root, state });
    return { root, state };
  }
  async function startOn(where: { root: string; state: string }, policyText: string): Promise<Supervisor> {
    const sup = new Supervisor({ policy: parsePolicy(policyText, 'p.yaml'), policySource: 'p.yaml', policyText, stateDir: where.state, runDir: join(where.root, 'run'), rendererDir: null });
    running.push(sup);
    await sup.start();
    return sup;
  }
  /** A supervisor whose state folder is a tmpfs of `stateMiB`; `before` runs on it first. */
  async function supervisorOn(stateMiB: number, policyText: string, before: (state: string) => void = () => undefined): Promise<Supervisor> {
    const where = stateOf(stateMiB);
    before(where.state);
    return startOn(where, policyText);
  }
  /** An ext4 image as older versions made it: sparse. */
  function sparseImage(state: string, bytes: number): string {
    const image = join(state, 'cages', 'low', 'home.img');
    mkdirSync(join(state, 'cages', 'low'), { recursive: true, mode: 0o700 });
    writeFileSync(image, '', { mode: 0o600 });
    truncateSync(image, bytes);
    execFileSync('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', `nodiscard,root_owner=${UIDS.low}:${UIDS.low}`, image]);
    expect(statSync(image).blocks * 512).toBeLessThan(bytes / 2);
    return image;
  }
  const shell = (sup: Supervisor, level: 'low' | 'high') => cageShell(innerPidOf(sup, level), UIDS[level]);
  /** Low writes zeros into its home until it can write no more. */
  const fillHome = (sup: Supervisor) => shell(sup, 'low')('dd if=/dev/zero of=$HOME/fill bs=1M count=400 2>&1; sync; df -k $HOME | tail -1', 60_000);

  it('a home larger than the state filesystem can give is refused with the reason; high saves and the journal writes', async () => {
    const sup = await supervisorOn(192, twoLevelPolicy({ low: cage('low', '256MiB'), high: cage('high', '32MiB') }));
    expect(sup.cages.get('high')!.state.status).toBe('running');
    // The attack: low writes zeros into its home for as long as it can — if it was started at all.
    if (sup.cages.get('low')!.state.status === 'running') await fillHome(sup);

    // Whatever low wrote, high saves 4 MiB and every decision still gets its record.
    const saved = await shell(sup, 'high')('dd if=/dev/urandom of=$HOME/report bs=1M count=4 2>/dev/null && sync && stat -c %s $HOME/report', 30_000);
    expect(saved.stdout.trim()).toBe(String(4 * MiB));
    const rpc = await rpcClient(sup.rpcSocketPath);
    try {
      expect((await rpc.call('clipboard.copy', { level: 'high' })).error?.code).not.toBe('JOURNAL_UNAVAILABLE');
    } finally {
      rpc.close();
    }
    expect(() => sup.journal.append('test.record', 'test', { n: 1 })).not.toThrow();
    // Low was not started, and says why.
    const low = sup.cages.get('low')!.state;
    expect(low.status).not.toBe('running');
    expect(low.detail).toMatch(/home not started: its image needs 256 MiB more of the state filesystem, which has \d+ MiB free and keeps 64 MiB for the audit journal/);
  }, 90_000);

  it('low filling all its home leaves the state filesystem its margin: the journal writes, high saves', async () => {
    let state = '';
    const sup = await supervisorOn(192, twoLevelPolicy({ low: cage('low', '80MiB'), high: cage('high', '32MiB') }), (s) => (state = s));
    for (const [level, bytes] of [['low', 80 * MiB], ['high', 32 * MiB]] as const) {
      const image = statSync(join(state, 'cages', level, 'home.img'));
      expect(image.blocks * 512).toBeGreaterThanOrEqual(ALLOCATED * bytes); // allocated whole, not sparse
    }
    const filled = await fillHome(sup);
    expect(filled.stdout).toMatch(/No space left on device/); // low did fill its home
    const fs = statfsSync(state);
    expect(fs.bavail * fs.bsize).toBeGreaterThanOrEqual(STATE_MARGIN_BYTES);
    expect(() => sup.journal.append('test.record', 'test', { n: 1 })).not.toThrow();
    const saved = await shell(sup, 'high')('dd if=/dev/urandom of=$HOME/report bs=1M count=4 2>/dev/null && sync && stat -c %s $HOME/report', 30_000);
    expect(saved.stdout.trim()).toBe(String(4 * MiB));
  }, 90_000);

  it('an image from an older version (sparse) is allocated at start, its files kept', async () => {
    let image = '';
    const sup = await supervisorOn(192, twoLevelPolicy({ low: cage('low', '64MiB'), high: vncCage('/nonexistent/vnc.sock') }), (s) => (image = sparseImage(s, 64 * MiB)));
    expect(sup.cages.get('low')!.state.status).toBe('running');
    expect(statSync(image).blocks * 512).toBeGreaterThanOrEqual(ALLOCATED * 64 * MiB);
    expect((await shell(sup, 'low')('echo kept > $HOME/probe && cat $HOME/probe')).stdout).toBe('kept\n');
  }, 90_000);

  it('after a crash on a full state filesystem (an older version\'s sparse home filled it), the supervisor starts and says why low does not', async () => {
    const where = stateOf(96);
    const policy = twoLevelPolicy({ low: cage('low', '256MiB'), high: vncCage('/nonexistent/vnc.sock') });
    await (await startOn(where, twoLevelPolicy({ low: vncCage('/nonexistent/low.sock'), high: vncCage('/nonexistent/vnc.sock') }))).stop(); // an installation: its keys, its journal
    running.length = 0;
    sparseImage(where.state, 256 * MiB);
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(where.state, 'cages', 'low', 'filled-by-low')}`, 'bs=1M', 'count=200'], { stdio: 'ignore' });
    } catch {
      /* ENOSPC: the disk is full, as the crash left it */
    }
    const sup = await startOn(where, policy);
    // Said as low's start is refused (under load, seen once just after start() returned).
    await waitFor(() => sup.cages.get('low')!.state.detail !== undefined, "low's refusal said", 10_000).catch(() => undefined);
    expect(sup.cages.get('low')!.state.detail).toMatch(/home not started: its image needs \d+ MiB more of the state filesystem, which has 0 MiB free/);
    const rpc = await rpcClient(sup.rpcSocketPath);
    try {
      expect((await rpc.call('session.describe', {})).ok).toBe(true);
    } finally {
      rpc.close();
    }
  }, 90_000);
});
