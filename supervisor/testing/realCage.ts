/**
 * Test helper: starts a real bwrap cage (Xvnc in bubblewrap) in its own temporary directories, and
 * runs commands inside it as a true cage process (through its launcher: its filter, its control
 * group, its uid, no capability). Every test gets its own cage names, sockets and directories.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AppPolicy, BwrapCagePolicy, CageLimitsPolicy, NetworkMode } from '../../shared/policy';
import type { RunningCage } from '../cages/cageDriver';
import { BwrapDriver, bwrapCagePaths, type BwrapCagePaths } from '../cages/bwrapDriver';
import { TEST_CAGE_LIMITS } from './testPolicy';
import { run } from '../cages/cageLauncher';
import { runInCage } from './enterCage';
import { testRoot } from './testRoots';
import type { CageCardEndpoint } from '../smartcard/cageCardEndpoint';

export interface RealCage {
  level: string;
  uid: number;
  driver: BwrapDriver;
  cage: RunningCage;
  paths: BwrapCagePaths;
  /** Runs `sh -c script` in the cage as a cage process (its launcher); resolves with stdout, stderr and exit code. */
  sh(script: string, timeoutMs?: number): Promise<{ stdout: string; stderr: string; code: number }>;
  stop(): Promise<void>;
}

export type CageShell = (script: string, timeoutMs?: number) => Promise<{ stdout: string; stderr: string; code: number }>;

/** Runs `sh -c script` as a true cage process, through the cage's launcher. */
export function launcherShell(cage: RunningCage): CageShell {
  return async (script, timeoutMs = 10_000) => {
    const r = await run(cage, { argv: ['sh', '-c', script], timeoutMs });
    return { stdout: r.stdout, stderr: r.stderr, code: r.signal ? 128 : r.code };
  };
}

/**
 * Runs `sh -c script` in a running cage's namespaces as its user, with no capability, entered from
 * outside: no filter, no control group (enterCage.ts). For tests that hold no RunningCage.
 */
export function cageShell(innerPid: number, uid: number): CageShell {
  return (script, timeoutMs = 10_000) => runInCage({ innerPid, uid }, script, undefined, timeoutMs);
}

/** A supervisor's running cage's init pid — or an error saying what state the cage is in, and why. */
export function innerPidOf(sup: { cages: Map<string, { cage: RunningCage | null; state: { status: string; detail?: string } }> }, level: string): number {
  const lifecycle = sup.cages.get(level);
  const pid = lifecycle?.cage?.innerPid;
  if (!pid) throw new Error(`cage "${level}" is not running: ${lifecycle ? `${lifecycle.state.status}${lifecycle.state.detail ? ` (${lifecycle.state.detail})` : ''}` : 'no such level'}`);
  return pid;
}

// Four uids a test file, kept under the policy's largest cage uid (65533) so a test may write its cage into a policy.
let nextUid = 45_000 + (process.pid % 880) * 4;

export { testRoot };

export interface RealCageOptions {
  level: string;
  network?: NetworkMode;
  geometry?: string;
  apps?: string[][];
  /** Apps of the cage's policy as the policy writes them (after `apps`, which start with the cage). */
  policyApps?: AppPolicy[];
  root?: string;
  limits?: Partial<CageLimitsPolicy>;
  hostResolvConf?: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** The level's smart card endpoint, made for the cage's uid (supervisor/smartcard). */
  smartcard?: (uid: number) => CageCardEndpoint;
}

export async function startRealCage(options: RealCageOptions): Promise<RealCage> {
  const root = options.root ?? testRoot();
  const uid = nextUid++;
  const cagePolicy: BwrapCagePolicy = {
    driver: 'bwrap',
    network: options.network ?? 'none',
    geometry: options.geometry ?? '800x600',
    apps: [...(options.apps ?? []).map((exec, i) => ({ id: `app-${i}`, exec, autostart: true })), ...(options.policyApps ?? [])],
    limits: { ...TEST_CAGE_LIMITS, ...options.limits },
  };
  const paths = bwrapCagePaths(join(root, 'state'), join(root, 'run'), options.level);
  const driver = new BwrapDriver({
    level: options.level,
    cage: cagePolicy,
    paths,
    uid,
    ...(options.hostResolvConf ? { hostResolvConf: options.hostResolvConf } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.smartcard ? { smartcard: options.smartcard(uid) } : {}),
  });
  const cage = await driver.start();
  const innerPid = cage.innerPid;
  if (innerPid === null) throw new Error('bwrap cage has no inner pid');
  return {
    level: options.level,
    uid,
    driver,
    cage,
    paths,
    sh: launcherShell(cage),
    async stop() {
      await cage.stop();
      if (!options.root) rmSync(root, { recursive: true, force: true });
    },
  };
}
