/**
 * Test helper: a real bwrap cage whose supervisor then dies — started by a process of its own
 * (this file, run by tsx) that the test kills with SIGKILL, as a crash or the OOM killer would.
 * The cage is then left to whatever the next supervisor makes of it (cageAdoption.ts).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BwrapCagePolicy } from '../../shared/policy';
import { BwrapDriver, bwrapCagePaths, killSandbox, type BwrapDriverOptions } from '../cages/bwrapDriver';
import { openCageCgroup } from '../cages/cageCgroup';
import { unmountCageFilesystems } from '../cages/cageMounts';
import { readCageRecord, removeCageRecord } from '../cages/cageRecord';
import { testRoot } from './realCage';
import { TEST_CAGE_LIMITS } from './testPolicy';

export interface OrphanCage {
  /** The options the dead supervisor used: the next one builds its driver from the same. */
  options: BwrapDriverOptions;
  innerPid: number;
  /** Ends whatever is left of the cage (adopted or not) and removes its folders. */
  cleanUp(): Promise<void>;
}

let nextUid = 49_000 + (process.pid % 500) * 2;

/** Starts a cage in a process of its own, then SIGKILLs that process once the cage runs. */
export async function startOrphanCage(level: string, cage: Partial<BwrapCagePolicy> = {}): Promise<OrphanCage> {
  const root = testRoot();
  const options: BwrapDriverOptions = {
    level,
    uid: nextUid++,
    cage: { driver: 'bwrap', network: 'none', geometry: '800x600', apps: [], limits: { ...TEST_CAGE_LIMITS }, ...cage },
    paths: bwrapCagePaths(join(root, 'state'), join(root, 'run'), level),
  };
  return startOrphanCageWith(options, root);
}

/** The same, with the options a test derives itself (the cage manager's); `root` is removed at clean-up. */
export async function startOrphanCageWith(options: BwrapDriverOptions, root: string): Promise<OrphanCage> {
  // node itself with tsx as its loader: the `tsx` command would run it in a child that a SIGKILL to the command leaves alive.
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const innerPid = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line)));
    child.once('exit', (code) => reject(new Error(`the first supervisor exited (${code}) before its cage ran`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  return {
    options,
    innerPid,
    cleanUp: async () => {
      const record = readCageRecord(options.paths.run);
      if (record && !('unreadable' in record)) {
        killSandbox(record.inner);
        if (record.cgroup) openCageCgroup(record.cgroup.version, record.cgroup.dirs)?.remove();
      }
      removeCageRecord(options.paths.run);
      await new Promise((r) => setTimeout(r, 200));
      await unmountCageFilesystems(options.paths).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

// Run as a process: start the cage, print its inner pid, wait to be killed.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = JSON.parse(process.argv[2]!) as BwrapDriverOptions;
  void new BwrapDriver(options).start().then(
    async (cage) => {
      // Its autostart apps launched first: the next supervisor finds them running.
      const autostart = options.cage.apps.filter((app) => app.autostart).length;
      for (let i = 0; i < 200 && (cage.launcher?.launched().length ?? 0) < autostart; i++) await new Promise((r) => setTimeout(r, 50));
      // A WireGuard cage's tunnel settled (up, or failed with its reason) before the supervisor dies.
      for (let i = 0; i < 400 && cage.tunnel && !['up', 'failed'].includes(cage.tunnel.current().state); i++) await new Promise((r) => setTimeout(r, 50));
      process.stdout.write(`${cage.innerPid}\n`);
      setInterval(() => undefined, 60_000);
    },
    (err: Error) => {
      process.stderr.write(`orphan cage did not start: ${err.message}\n`);
      process.exit(1);
    },
  );
}
