/**
 * The file broker's staging area at start: a tmpfs as large as the largest transfer any rule allows
 * (else the run folder's filesystem), and nothing half-written left by a supervisor killed during
 * a transfer (the root supervisor's at its start; the `cloison` part's a while after, or before its
 * first transfer). Returns how it stops: transfers cancelled, then the area unmounted.
 */
import type { Policy } from '../../shared/policy';
import type { FileBroker } from './fileBroker';
import { accessSync, constants } from 'node:fs';
import { mountStagingArea, stagingAreaFilesystem, unmountStagingArea } from './stagingArea';

type Log = (msg: string, fields?: Record<string, unknown>) => void;

/** The cloison part's staging tmpfs, in the manager's run folder (root's: the part cannot plant a link at its name). */
export const PART_STAGING_DIR = 'part-staging';

/** The staging area's size: the largest transfer any rule allows (a limit, not a reservation). */
export function stagingAreaBytes(policy: Pick<Policy, 'files'>): number {
  const rules = policy.files;
  return Math.max(rules.up.maxTotalBytes, rules.down.maxTotalBytes, rules.lateral.maxTotalBytes, ...rules.pairs.map((p) => p.maxTotalBytes ?? 0));
}

export async function prepareFileStaging(files: FileBroker, dir: string, policy: Pick<Policy, 'files'>, log?: Log): Promise<() => Promise<void>> {
  const largest = stagingAreaBytes(policy);
  await mountStagingArea(dir, largest).catch((err: Error) => log?.("file staging on the run folder's filesystem: no tmpfs", { error: err.message }));
  // A transfer cut short by a killed supervisor leaves nothing half-written behind.
  await files.cleanPartialsOnce((err) => log?.('cleaning partial transfers failed', { error: err.message }));
  return async () => {
    files.cancel();
    await unmountStagingArea(dir).catch(() => undefined); // not mounted when staging fell back to the run folder
  };
}

/**
 * The same as the `cloison` part (#29), which cannot mount: the cage manager mounted the area for
 * it at its start (mountStagingArea with the part's account as owner). Not mounted there, the
 * manager handed the folder itself over and staging goes to the manager's run folder's filesystem,
 * bounded by nothing but the rules' sizes: said in the log. A folder the part cannot write in
 * (handed to no one) fails every transfer: said as that, not as a fallback.
 */
export async function prepareRemoteFileStaging(files: Pick<FileBroker, 'cleanPartialsOnce' | 'cancel'>, dir: string, log?: Log, cleanAfterMs = CLEAN_PARTIALS_AFTER_MS): Promise<() => Promise<void>> {
  const filesystem = stagingAreaFilesystem(dir);
  if (!writable(dir)) log?.('file staging impossible: the part cannot write in its staging folder, every transfer will fail', { dir, filesystem });
  else if (filesystem !== 'tmpfs') log?.('file staging on the run folder\'s filesystem: the cage manager mounted no tmpfs for the part', { filesystem });
  // Later, not now (or before the first transfer: the broker's own): each level's look is a file
  // helper the manager starts, which the cages' first frames would wait behind (bench/RESULTS.md, start-8).
  const later = setTimeout(() => void files.cleanPartialsOnce((err) => log?.('cleaning partial transfers failed', { error: err.message })), cleanAfterMs);
  later.unref();
  return async () => {
    clearTimeout(later);
    files.cancel();
  };
}

/** How long after the cages run the part cleans partial transfers (unless a transfer comes first). */
export const CLEAN_PARTIALS_AFTER_MS = 15_000;

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
