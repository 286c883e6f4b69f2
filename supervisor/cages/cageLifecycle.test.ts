import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CageState } from '../../shared/rpc';
import { BwrapDriver, bwrapCagePaths } from './bwrapDriver';
import { TEST_CAGE_LIMITS } from '../testing/testPolicy';
import type { CageDriver, CageExit, RunningCage } from './cageDriver';
import { CageLifecycle } from './cageLifecycle';
import { testRoot } from '../testing/testRoots';

function statesOf(lifecycle: CageLifecycle): CageState[] {
  const seen: CageState[] = [];
  lifecycle.on('status', (s) => seen.push(s));
  return seen;
}

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A driver whose cages exit when told: the state machine on its own, without processes. */
function scriptedDriver(outcomes: Array<'ok' | Error>): CageDriver & { exit(reason: string): void; starts: number } {
  let exitCurrent: ((e: CageExit) => void) | null = null;
  const d = {
    starts: 0,
    async start(): Promise<RunningCage> {
      const outcome = outcomes[d.starts++] ?? 'ok';
      if (outcome instanceof Error) throw outcome;
      const exited = new Promise<CageExit>((r) => (exitCurrent = r));
      return { endpoint: { path: '/nonexistent' }, innerPid: null, exited, stop: async () => exitCurrent?.({ reason: 'stopped' }) };
    },
    exit(reason: string) {
      exitCurrent?.({ reason });
    },
  };
  return d;
}

describe('cage lifecycle', () => {
  const savedPath = process.env.PATH;
  afterEach(() => {
    process.env.PATH = savedPath;
  });

  it('goes stopped → starting → running → stopped', async () => {
    const lc = new CageLifecycle({ level: 'low', driver: scriptedDriver(['ok']) });
    const seen = statesOf(lc);
    await lc.start();
    await lc.stop();
    expect(seen.map((s) => s.status)).toEqual(['starting', 'running', 'stopped']);
  });

  it("asks a running cage's applications to quit before it stops it: once for two stops, within the bound, the cage still running meanwhile", async () => {
    const asked: Array<{ timeoutMs: number; status: string }> = [];
    let stopped = 0;
    const driver: CageDriver = {
      start: async () => ({
        endpoint: { path: '/nonexistent' },
        innerPid: null,
        exited: new Promise<CageExit>(() => undefined),
        stop: async () => void stopped++,
        quitApps: async (timeoutMs) => {
          asked.push({ timeoutMs, status: lc.state.status });
          await new Promise((r) => setTimeout(r, 50));
          expect(stopped).toBe(0); // the cage is stopped only once they have quit (or the bound passed)
          return { outcome: 'all quit', windows: 2, windowsLeft: 0, programsLeft: 0, waitedMs: 50 };
        },
      }),
    };
    const lc: CageLifecycle = new CageLifecycle({ level: 'low', driver, appQuitMs: () => 7000 });
    const outcomes: string[] = [];
    lc.on('appsQuit', (_state, quit) => outcomes.push(quit.outcome));
    await lc.start();
    await Promise.all([lc.stop('first'), lc.stop('second')]);
    expect(asked).toEqual([{ timeoutMs: 7000, status: 'running' }]);
    expect(outcomes).toEqual(['all quit']);
    expect(lc.state.status).toBe('stopped');
    // A policy bound of 0: stopped at once, nothing asked.
    const lc0 = new CageLifecycle({ level: 'low', driver, appQuitMs: () => 0 });
    await lc0.start();
    await lc0.stop();
    expect(asked).toHaveLength(1);
  });

  it('restarts a crashed cage with growing back-off, then gives up and waits for the user', async () => {
    const driver = scriptedDriver(['ok', new Error('boom 1'), new Error('boom 2')]);
    const lc = new CageLifecycle({ level: 'low', driver, initialBackoffMs: 20, maxConsecutiveCrashes: 3 });
    const seen = statesOf(lc);
    await lc.start();
    driver.exit('Xvnc exited');
    await until(() => seen.filter((s) => s.status === 'crashed').length === 3);
    await new Promise((r) => setTimeout(r, 200));
    expect(driver.starts).toBe(3); // no fourth attempt on its own
    expect(seen.map((s) => s.status)).toEqual(['starting', 'running', 'crashed', 'starting', 'crashed', 'starting', 'crashed']);
    expect(seen.filter((s) => s.status === 'crashed').map((s) => s.detail)).toEqual(['Xvnc exited', 'boom 1', 'boom 2']);
    await lc.retry();
    expect(lc.state).toMatchObject({ status: 'running' });
    await lc.stop();
  });

  it('does not restart on its own after stop()', async () => {
    const driver = scriptedDriver(['ok']);
    const lc = new CageLifecycle({ level: 'low', driver, initialBackoffMs: 10 });
    await lc.start();
    await lc.stop();
    await new Promise((r) => setTimeout(r, 100));
    expect(driver.starts).toBe(1);
    expect(lc.state.status).toBe('stopped');
  });

  it('names the Debian package of a missing binary and does not retry in a loop', async () => {
    const onlyBwrap = testRoot('cloison-path-');
    symlinkSync('/usr/bin/bwrap', join(onlyBwrap, 'bwrap'));
    process.env.PATH = onlyBwrap;
    const root = testRoot();
    const driver = new BwrapDriver({ level: 'low', uid: 59999, cage: { driver: 'bwrap', network: 'none', geometry: '800x600', apps: [], limits: TEST_CAGE_LIMITS }, paths: bwrapCagePaths(join(root, 's'), join(root, 'r'), 'low') });
    const lc = new CageLifecycle({ level: 'low', driver, initialBackoffMs: 10 });
    await lc.start();
    expect(lc.state).toMatchObject({ status: 'crashed', detail: 'Xvnc not found: install tigervnc-standalone-server' });
    process.env.PATH = '/nonexistent';
    await lc.retry();
    expect(lc.state).toMatchObject({ status: 'crashed', detail: 'bwrap not found: install bubblewrap' });
  });

  it('notices a real cage whose Xvnc dies and brings it back', async () => {
    const root = testRoot();
    const driver = new BwrapDriver({ level: 'low', uid: 59998, cage: { driver: 'bwrap', network: 'none', geometry: '640x480', apps: [], limits: TEST_CAGE_LIMITS }, paths: bwrapCagePaths(join(root, 's'), join(root, 'r'), 'low') });
    const lc = new CageLifecycle({ level: 'low', driver, initialBackoffMs: 50 });
    const seen = statesOf(lc);
    await lc.start();
    const { execSync } = await import('node:child_process');
    execSync(`pkill -KILL -u 59998 -x Xvnc`);
    await until(() => seen.some((s) => s.status === 'crashed') && lc.state.status === 'running');
    expect(seen.find((s) => s.status === 'crashed')?.detail).toMatch(/^cage session ended \(exit 72\): Xvnc exited$/);
    expect(lc.state.restarts).toBe(1);
    await lc.stop();
  });
});
