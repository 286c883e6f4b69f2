/**
 * The manager's side of `network.wireguard`: a WireGuard level's tunnel opened into its cage, as
 * the cage driver opens it today (network/wireguardTunnel.ts's openTunnel: the interface made in
 * the manager's namespace, keyed there, then moved into the cage's). The configuration file, and
 * the private key in it, is the one the running policy names, read by the manager alone (root's,
 * 0600): nothing of it crosses to the unprivileged part, whose request names a level and nothing
 * else. The namespace is the managed cage's (`innerPidOf(level)`), never a pid from the request.
 *
 * One tunnel per cage: asked again, the manager answers the open one. Opening a second with the
 * same interface name would fail inside the cage (the name is taken there) and its clean-up would
 * delete that name in the cage: the working tunnel.
 */
import { CloisonError } from '../../shared/errors';
import { isWireguard } from '../../shared/policy';
import { bwrapCagePaths, tunnelInterfaceName } from '../cages/bwrapDriver';
import { readWireguardConfig } from '../policy/wireguardConfig';
import { openTunnel, type Tunnel } from '../network/wireguardTunnel';
import { refused } from './openedExactly';
import type { NetworkExecutorOptions } from './networkNatExecutor';
import type { RequestOf } from './requests';

export function networkWireguardExecutor(options: NetworkExecutorOptions): ((req: RequestOf<'network.wireguard'>) => Promise<{ ifname: string; kind: Tunnel['kind']; already: boolean }>) & { stop(): Promise<void> } {
  const open = new Map<string, { tunnel: Promise<Tunnel>; innerPid: number }>();
  const execute = async (req: RequestOf<'network.wireguard'>) => {
    const level = options.policy().levels.find((l) => l.id === req.level);
    if (level?.cage.driver !== 'bwrap' || !isWireguard(level.cage.network)) throw refused(`level ${req.level} has no WireGuard network in the running policy`);
    const innerPid = options.innerPidOf(req.level);
    if (!innerPid) throw new CloisonError('CAGE_UNAVAILABLE', `cage ${req.level} is not running`);
    const before = open.get(req.level);
    if (before?.innerPid === innerPid) {
      const tunnel = await before.tunnel;
      return { ifname: tunnel.ifname, kind: tunnel.kind, already: true };
    }
    if (before) await (await before.tunnel.catch(() => null))?.close(); // a cage started again
    const run = bwrapCagePaths(options.stateDir, options.runDir, req.level).run;
    const config = readWireguardConfig(level.cage.network.config);
    // Held while it opens: a second request at the same moment waits for this one, never opens its own.
    const tunnel = openTunnel(tunnelInterfaceName(req.level, run), innerPid, config, run, options.joinPrefixOf?.(req.level) ?? []);
    open.set(req.level, { tunnel, innerPid });
    try {
      const t = await tunnel;
      options.log?.('tunnel open', { level: req.level, kind: t.kind });
      return { ifname: t.ifname, kind: t.kind, already: false };
    } catch (err) {
      if (open.get(req.level)?.tunnel === tunnel) open.delete(req.level);
      throw err;
    }
  };
  return Object.assign(execute, {
    stop: async () => {
      for (const { tunnel } of open.values()) await (await tunnel.catch(() => null))?.close();
      open.clear();
    },
  });
}
