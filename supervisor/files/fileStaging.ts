/**
 * The file broker's staging area at start: a tmpfs as large as the largest transfer any rule allows
 * (else the run folder's filesystem), and nothing half-written left by a supervisor killed during
 * a transfer. Returns how it stops: transfers cancelled, then the area unmounted.
 */
import type { Policy } from '../../shared/policy';
import type { FileBroker } from './fileBroker';
import { mountStagingArea, unmountStagingArea } from './stagingArea';

type Log = (msg: string, fields?: Record<string, unknown>) => void;

export async function prepareFileStaging(files: FileBroker, dir: string, policy: Pick<Policy, 'files'>, log?: Log): Promise<() => Promise<void>> {
  const rules = policy.files;
  const largest = Math.max(rules.up.maxTotalBytes, rules.down.maxTotalBytes, rules.lateral.maxTotalBytes, ...rules.pairs.map((p) => p.maxTotalBytes ?? 0));
  await mountStagingArea(dir, largest).catch((err: Error) => log?.("file staging on the run folder's filesystem: no tmpfs", { error: err.message }));
  // A transfer cut short by a killed supervisor leaves nothing half-written behind.
  await files.cleanPartials().catch((err: Error) => log?.('cleaning partial transfers failed', { error: err.message }));
  return async () => {
    files.cancel();
    await unmountStagingArea(dir).catch(() => undefined); // not mounted when staging fell back to the run folder
  };
}
