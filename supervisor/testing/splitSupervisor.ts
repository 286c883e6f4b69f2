/**
 * Test helper: a whole supervisor started for a test, split as `npm start` starts it (#29): the
 * root cage manager (out/supervisor/cageManager.js) starting the supervisor as its `cloison` part;
 * or, with CLOISON_SPLIT=0 in the environment, the root supervisor alone (out/supervisor/main.js,
 * `npm start -- --single`). Split,
 * the folders the test names are the part's (its journal, trust phrase and keys; the shell's and
 * administrators' sockets: what a test reads), and the manager's are beside them (`-manager`):
 * the cages' homes and records. The manager prints the part's "listening" and "ready" lines after
 * its own "listening" line, which names no shell's socket (`isManagerOwnLine`).
 */
import { chmodSync, closeSync, constants, fchownSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { account } from '../system/accounts';
import { checkoutReachableByCloison } from './checkoutReachable';

/**
 * Whether this run starts supervisors split: the default, as npm start's; CLOISON_SPLIT=0 starts
 * the root supervisor alone (runAllTests.mjs runs a few end-to-end specs so a second time). The
 * vitest files that start a whole supervisor through supervisorRun.ts test the root supervisor by
 * name (processPrivileges.test.ts's first table, supervisorRestart.test.ts's SIGKILL of its one
 * process; the split's own tests are beside them): under vitest the default stays the root
 * supervisor, and CLOISON_SPLIT=1 runs them split.
 */
export const SPLIT = process.env.CLOISON_SPLIT === '1' || (process.env.CLOISON_SPLIT !== '0' && !process.env.VITEST);

export interface SupervisorCommand {
  /** The script node runs, relative to the repository. */
  script: string;
  /** Its folder arguments. */
  folders: string[];
  /** Where the cages' state is (`cages/<level>/home`…): the manager's folder when split. */
  cageStateDir: string;
  /** Where the cages' run records are (`cages/<level>/cage.json`). */
  cageRunDir: string;
}

/** The program and folder arguments for a supervisor on a test's state and run folders. */
export function supervisorCommand(stateDir: string, runDir: string): SupervisorCommand {
  if (!SPLIT) return { script: 'out/supervisor/main.js', folders: ['--state-dir', stateDir, '--run-dir', runDir], cageStateDir: stateDir, cageRunDir: runDir };
  // The part runs the checkout's bundles and serves its renderer as cloison (the end-to-end runs have no vitest setup).
  checkoutReachableByCloison();
  // The part (cloison) passes through the test's folder to its own folders and reads the policy there.
  passableByPart(dirname(stateDir));
  const managerState = `${stateDir}-manager`;
  const managerRun = `${runDir}-manager`;
  return {
    script: 'out/supervisor/cageManager.js',
    folders: ['--state-dir', managerState, '--run-dir', managerRun, '--part-state-dir', stateDir, '--part-run-dir', runDir],
    cageStateDir: managerState,
    cageRunDir: managerRun,
  };
}

/** A test's folder the part (cloison, neither owner nor group) may pass through, not list. */
function passableByPart(folder: string): void {
  const mode = statSync(folder).mode & 0o7777;
  if ((mode & 0o011) !== 0o011) chmodSync(folder, mode | 0o011);
}

/**
 * Split, the part reads a training session's scenario and writes its report (as cloison): the
 * test's folders holding them are made passable (the scenario is the test's 0644 file; a missing
 * report folder the manager makes as the part's).
 */
export function trainingFoldersForPart(args: string[]): void {
  if (!SPLIT) return;
  for (const flag of ['--training', '--report-dir']) {
    const at = args.indexOf(flag);
    if (at >= 0 && args[at + 1]) passableByPart(dirname(args[at + 1]!));
  }
}

/**
 * Split, the part reads the policy's public files (the diode's recipient keys) as `cloison`: a
 * test's folder holding them made passable by it, as an administrator's /etc/cloison is (0755);
 * the files themselves are the test's, root's 0644. A WireGuard configuration needs nothing: the
 * manager alone reads it.
 */
export function policyFilesFolderForPart(folder: string): void {
  if (SPLIT) passableByPart(folder);
}

/** The cage manager's own "listening" line (its socket, no shell's): not the supervisor's. */
export function isManagerOwnLine(said: { listening?: boolean; rpcSocket?: unknown }): boolean {
  return SPLIT && said.listening === true && said.rpcSocket === undefined;
}

/**
 * A file a test writes into the part's state folder before the start (the trust phrase) given to
 * the part's account, as it would have written it itself. Through a descriptor opened without
 * following a link: never a link's target given away.
 */
export function giveToPart(path: string): void {
  if (!SPLIT) return;
  const cloison = account('cloison');
  if (!cloison) throw new Error('no cloison account: setup.sh makes it');
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    fchownSync(fd, cloison.uid, cloison.gid);
  } finally {
    closeSync(fd);
  }
}

/**
 * The supervisor's own process: the root supervisor itself, or split, the manager's `cloison` part
 * (its child running cloisonPart.js; null while there is none, as while it restarts).
 */
export function supervisorPidOf(startedPid: number): number | null {
  if (!SPLIT) return startedPid;
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (!new RegExp(`^PPid:\\s+${startedPid}$`, 'm').test(readFileSync(`/proc/${entry}/status`, 'utf8'))) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('cloisonPart')) return Number(entry);
    } catch {
      /* gone meanwhile */
    }
  }
  return null;
}
