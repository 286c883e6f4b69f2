/**
 * The DNS resolvers a `nat` cage is given. slirp4netns's own forwarder (10.0.2.3) is turned off:
 * libslirp sends whatever reaches that alias, on any port, to the host's resolver, and where that
 * resolver is on the host's loopback (dnsmasq, unbound, systemd-resolved's stub) the alias is a
 * way into the host. The cage instead queries real resolvers directly through the NAT, like any
 * other outbound traffic: the policy's `dns`, else the host's own with loopback ones left out
 * (systemd-resolved's upstream list when the host uses its stub).
 */
import { readFileSync } from 'node:fs';

const SYSTEMD_RESOLVED_UPSTREAMS = '/run/systemd/resolve/resolv.conf';
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function nameserversIn(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((a): a is string => a !== undefined);
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '0.0.0.0' || address === '::1' || address === '::';
}

function readResolvers(file: string): string[] {
  try {
    return nameserversIn(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

export interface NatResolvers {
  resolvers: string[];
  /** Why the cage has no resolver, when it has none. */
  warning?: string;
}

export function natResolvers(policyDns: string[] | undefined, hostResolvConf = '/etc/resolv.conf'): NatResolvers {
  if (policyDns?.length) return { resolvers: policyDns };
  const usable = (list: string[]) => list.filter((a) => IPV4.test(a) && !isLoopback(a));
  const host = readResolvers(hostResolvConf);
  let resolvers = usable(host);
  if (resolvers.length === 0 && host.some(isLoopback)) resolvers = usable(readResolvers(SYSTEMD_RESOLVED_UPSTREAMS));
  if (resolvers.length > 0) return { resolvers: resolvers.slice(0, 3) };
  return {
    resolvers: [],
    warning: host.length
      ? `the host's resolvers (${host.join(', ')}) are on its loopback, which no cage may reach: names do not resolve in this cage until the policy gives it network resolvers (cage.dns)`
      : 'the host has no resolver: names do not resolve in this cage until the policy gives it resolvers (cage.dns)',
  };
}
