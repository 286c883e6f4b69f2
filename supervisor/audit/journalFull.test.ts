/**
 * A journal that cannot be written (its filesystem full): the supervisor keeps running, refuses the
 * decisions that need a record with the reason, shows cage states all the same, and the journal
 * stays whole — the next start reads it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy/policyLoader';
import { Supervisor } from '../supervisor';
import { innerPidOf, testRoot } from '../testing/realCage';
import { rpcClient, type RpcClient } from '../testing/rpcClient';
import { bwrapCage, twoLevelPolicy, vncCage } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { readHead, verifyJournal } from './auditJournal';

const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 59921, limits: 'homeBytes: 32MiB' }), high: vncCage('/nonexistent/vnc.sock') });

describe('journal on a full filesystem', () => {
  const root = testRoot();
  const state = join(root, 'state');
  let sup: Supervisor;
  let rpc: RpcClient;

  beforeAll(async () => {
    mkdirSync(state);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128m,mode=0700', 'cloison-test-state', state]);
    sup = new Supervisor({ policy: parsePolicy(POLICY, 'p.yaml'), policySource: 'p.yaml', policyText: POLICY, stateDir: state, runDir: join(root, 'run'), rendererDir: null });
    await sup.start();
    rpc = await rpcClient(sup.rpcSocketPath);
  });
  afterAll(async () => {
    rpc?.close();
    await sup?.stop();
    execFileSync('umount', ['-l', state]);
    rmSync(root, { recursive: true, force: true });
  });

  function fill(): void {
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(state, 'filler')}`, 'bs=1M', 'count=256'], { stdio: 'ignore' });
    } catch {
      /* ENOSPC: that is the point */
    }
  }

  it('refuses a decision with the reason, keeps the supervisor and the cage restart going, and loses nothing', async () => {
    expect(sup.cages.get('low')!.state.status).toBe('running');
    const before = readFileSync(join(state, 'audit.jsonl'), 'utf8');
    fill();

    const copy = await rpc.call('clipboard.copy', { level: 'low' });
    expect(copy).toMatchObject({ ok: false, error: { code: 'JOURNAL_UNAVAILABLE', message: expect.stringContaining('ENOSPC') } });

    // The cage crashes while nothing can be journaled: its restart still happens, the supervisor stays.
    const innerPid = innerPidOf(sup, 'low');
    process.kill(innerPid, 'SIGKILL');
    await waitFor(() => sup.cages.get('low')!.state.status === 'running' && sup.cages.get('low')!.cage?.innerPid !== innerPid, 'low to come back', 20_000);
    expect((await rpc.call('session.describe', {})).ok).toBe(true);
    expect(readFileSync(join(state, 'audit.jsonl'), 'utf8')).toBe(before); // no torn line, nothing half-written
    expect(sup.journal.failures).toBeGreaterThanOrEqual(2);

    rmSync(join(state, 'filler'));
    const again = await rpc.call('clipboard.copy', { level: 'low' });
    expect(again.error?.code).not.toBe('JOURNAL_UNAVAILABLE');
    const text = readFileSync(join(state, 'audit.jsonl'), 'utf8');
    expect(verifyJournal(text, readHead(join(state, 'audit.jsonl')))).toMatchObject({ ok: true });
  });

  it('a record that cannot be written whole is taken back whole', async () => {
    const path = join(state, 'audit.jsonl');
    const before = readFileSync(path, 'utf8');
    fill();
    expect(() => sup.journal.append('test.record', 'test', { n: 1 })).toThrow(/cannot be written/);
    rmSync(join(state, 'filler'));
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(verifyJournal(readFileSync(path, 'utf8'), readHead(path))).toMatchObject({ ok: true });
  });
});
