/**
 * A cage that exhausts something exhausts only itself: a program allocating without bound, a
 * filled home and a fork bomb in low. Meanwhile high keeps taking keys (its key logger sees them),
 * level switches keep working, the supervisor stays up, and low shows the reason and comes back.
 * Low's CPU weight is a tenth of the default: under contention its bomb gets a tenth of a share.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Supervisor } from '../supervisor';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { CAGE_AGENT_APP, runThroughAgent } from '../testing/cageAgent';
import { KEY_LOGGER_APP, KEYCODE, rawKeyPresses } from '../testing/keyLogger';
import { pressKeys } from '../testing/rfbViewer';
import { type RpcClient } from '../testing/rpcClient';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';

const agent = `[${CAGE_AGENT_APP.map((a) => JSON.stringify(a)).join(', ')}]`;
const POLICY = twoLevelPolicy({
  low: bwrapCage({ uid: 58596, apps: `[${agent}]`, limits: 'memoryBytes: 192MiB, tasks: 96, cpuWeight: 10, homeBytes: 32MiB, tmpfsBytes: 8MiB' }),
  high: bwrapCage({ uid: 58597, apps: `[${KEY_LOGGER_APP}]` }),
});
const X_KEYSYM = 0x78;

describe('limits: low exhausts only itself', () => {
  let t: TestSupervisor;
  let sup: Supervisor;
  let rpc: RpcClient;
  const home = (level: string) => t.home(level);
  const highKeys = () => rawKeyPresses(home('high')).filter((k) => k === KEYCODE.x).length;

  beforeAll(async () => {
    t = await startTestSupervisor(POLICY, { browserShell: true });
    ({ sup, rpc: rpc } = t);
    await waitFor(() => existsSync(join(home('high'), 'keylog.txt')), "high's key logger");
  });
  afterAll(async () => {
    await t?.stop();
  }, 60_000);

  /** While low suffers: switch to high, type there, switch back; high must see every key. */
  async function highStillWorks(): Promise<void> {
    expect((await rpc.call('focus.set', { level: 'high' })).ok).toBe(true);
    const link = await t.viewer('high');
    const before = highKeys();
    pressKeys(link, X_KEYSYM, 4);
    await waitFor(() => highKeys() - before === 4, 'high to log the keys', 10_000);
    link.close();
    expect((await rpc.call('focus.set', { level: 'low' })).ok).toBe(true);
  }

  const lowDetail = () => sup.cages.get('low')!.state.detail ?? '';

  it('a program allocating without bound is stopped inside low, which says why and keeps running', async () => {
    const hog = runThroughAgent(home('low'), `perl -e 'my @a; push @a, "x" x (1 << 20) while 1'; echo "hog=$?"`, 60_000);
    await highStillWorks();
    const r = await hog;
    expect(r.output).toMatch(/Killed|hog=137/);
    await waitFor(() => lowDetail().includes('memory limit (192 MiB) reached'), 'the memory notice', 10_000);
    expect(sup.cages.get('low')!.state.status).toBe('running');
    expect((await runThroughAgent(home('low'), 'echo alive')).output).toBe('alive\n');
  });

  it('a filled home says so; the other cage and the journal are untouched', async () => {
    const r = await runThroughAgent(home('low'), 'dd if=/dev/zero of=$HOME/fill bs=1M count=64 2>&1; echo "dd=$?"');
    expect(r.output).toMatch(/No space left on device/);
    await waitFor(() => lowDetail().includes('home full (32 MiB)'), 'the home notice');
    await highStillWorks();
    expect((await rpc.call('clipboard.state', {})).ok).toBe(true); // the journal is elsewhere: decisions still possible
    await runThroughAgent(home('low'), 'rm -f $HOME/fill');
  });

  it('a fork bomb hits the task limit; low is stopped with the reason and restarts, high never stops', async () => {
    const before = sup.cages.get('low')!.state.restarts;
    // Every process forks for ever, failures included: the cage stays at its task limit.
    void runThroughAgent(home('low'), `perl -e 'fork while 1'`, 60_000).catch(() => undefined);
    await waitFor(() => lowDetail().includes('task limit (96) reached'), 'the task notice', 15_000);
    await highStillWorks();
    await waitFor(() => sup.cages.get('low')!.state.status === 'crashed', 'low to be stopped', 20_000);
    expect(lowDetail()).toContain('task limit (96) held');
    await highStillWorks();
    await waitFor(() => sup.cages.get('low')!.state.status === 'running' && sup.cages.get('low')!.state.restarts > before, 'low to come back', 30_000);
    expect((await runThroughAgent(home('low'), 'echo back')).output).toBe('back\n');
    expect(sup.cages.get('high')!.state).toMatchObject({ status: 'running', restarts: 0 });
  });
});
