/**
 * Test tool: the cage manager a file broker in the `cloison` part runs against (#29): served to the
 * account (managerServedToCloison.ts) with the cages' requests and `files.helper`, both levels' real
 * bwrap cages started, and the part's own folder (its staging, its journal) made the account's.
 */
import { chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { filesHelperExecutor } from '../cageManager/filesHelperExecutor';
import { ManagedCages } from '../cageManager/managedCages';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { serveManagerToCloison, type ServedManager } from './managerServedToCloison';

export interface FileBrokerManager extends ServedManager {
  /** A level's home, on the host. */
  home(level: string): string;
  /** The part's own folder, 0700, the account's. */
  partFolder: string;
}

export async function fileBrokerManager(options: { prefix: string; policy: string; uids: { low: number; high: number } }): Promise<FileBrokerManager> {
  let helpers: ReturnType<typeof filesHelperExecutor> | null = null;
  const manager = await serveManagerToCloison({
    prefix: options.prefix,
    policy: options.policy,
    cages: new ManagedCages(),
    executors: ({ policy, folders, part, cageExecutors }) => ({ ...cageExecutors, 'files.helper': (helpers = filesHelperExecutor({ policy, ...folders, part })) }),
  });
  const close = manager.close;
  const broker: FileBrokerManager = {
    ...manager,
    home: (level) => bwrapCagePaths(manager.folders.stateDir, manager.folders.runDir, level).home,
    partFolder: join(manager.root, 'part'),
    close: (then) => close(async () => {
      helpers?.stop();
      await then?.();
    }),
  };
  try {
    await manager.startCage('low', options.uids.low);
    await manager.startCage('high', options.uids.high);
    mkdirSync(broker.partFolder, { mode: 0o700 });
    chownSync(broker.partFolder, manager.cloison.uid, manager.cloison.gid);
  } catch (err) {
    await broker.close();
    throw err;
  }
  return broker;
}
