/**
 * The manager's side of `network.nat`: slirp4netns attached to a `nat` level's cage, as the cage
 * driver attaches it today (cages/bwrapDriver.ts's startNat: no host loopback, no DNS alias, its
 * own sandbox and filter). The namespace is the managed cage's (`innerPidOf(level)`, the manager's
 * map of running cages), never a pid from the request, which has none; the policy is read again
 * here. One slirp4netns per cage: asked again while it runs, the manager answers the one running
 * (a second one would fight the first over the cage's tap0).
 */
import type { ChildProcess } from 'node:child_process';
import { CloisonError } from '../../shared/errors';
import type { Policy } from '../../shared/policy';
import { bwrapCagePaths, startNat } from '../cages/bwrapDriver';
import { requireBinary } from '../system/binaries';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';

export interface NetworkExecutorOptions {
  policy(): Policy;
  stateDir: string;
  runDir: string;
  /** The pid, in the manager's namespace, of the level's running cage's first process, or null. */
  innerPidOf(level: string): number | null;
  /** The command prefix that runs a program in the cage's control group (cageCgroup.ts), if it has one. */
  joinPrefixOf?(level: string): string[];
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export function networkNatExecutor(options: NetworkExecutorOptions): ((req: RequestOf<'network.nat'>) => Promise<{ pid: number; already: boolean }>) & { stop(): void } {
  const attached = new Map<string, { child: ChildProcess; innerPid: number }>();
  const execute = async (req: RequestOf<'network.nat'>) => {
    const level = options.policy().levels.find((l) => l.id === req.level);
    if (level?.cage.driver !== 'bwrap' || level.cage.network !== 'nat') throw refused(`level ${req.level}'s network is not nat in the running policy`);
    const innerPid = options.innerPidOf(req.level);
    if (!innerPid) throw new CloisonError('CAGE_UNAVAILABLE', `cage ${req.level} is not running`);
    const before = attached.get(req.level);
    if (before && before.innerPid === innerPid && before.child.exitCode === null && before.child.signalCode === null) return { pid: before.child.pid ?? 0, already: true };
    before?.child.kill('SIGTERM'); // a cage started again: the old one's namespace is gone
    const child = startNat(requireBinary('slirp4netns'), innerPid, options.joinPrefixOf?.(req.level) ?? [], bwrapCagePaths(options.stateDir, options.runDir, req.level).run, (msg, fields) => options.log?.(msg, { level: req.level, ...fields }));
    attached.set(req.level, { child, innerPid });
    child.on('exit', () => {
      if (attached.get(req.level)?.child === child) attached.delete(req.level);
    });
    return { pid: child.pid ?? 0, already: false };
  };
  return Object.assign(execute, {
    stop: () => {
      for (const { child } of attached.values()) child.kill('SIGTERM');
      attached.clear();
    },
  });
}
