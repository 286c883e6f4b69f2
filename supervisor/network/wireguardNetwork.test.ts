/**
 * The high level reaches its network only through WireGuard, tested against a real peer
 * (wireguard-go) in a site-gateway namespace the test makes, over a veth: the site's service
 * answers from inside high; an address that exists only on the underlay does not; a capture on the
 * underlay while high fetches shows UDP to the peer's port and nothing else (no TCP, no DNS in
 * clear); high's namespace holds only `lo` and the tunnel; low on `nat` at the same time keeps its
 * own path and neither sees the other's interfaces; with the peer stopped, nothing but the
 * tunnel's own encrypted handshakes leaves; a configuration gone at start leaves high with no
 * route at all and the reason shown; bad configurations are refused at load with file:line.
 */
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy/policyLoader';
import { cageShell, innerPidOf } from '../testing/realCage';
import { capture, startSiteGateway, type SiteGateway } from '../testing/siteGateway';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';

const UIDS = { low: 58623, high: 58624 };
const SUBNET = 40 + (process.pid % 150);

/** An HTTP GET from inside a cage with bash's /dev/tcp (the cage has no curl): the body, or the error. */
const fetchIn = (shell: ReturnType<typeof cageShell>, address: string, port: number) =>
  shell(`timeout 5 bash -c 'exec 3<>/dev/tcp/${address}/${port} && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3'`, 15_000);

/** What the uplink sent toward the site in a capture that is not UDP to the peer's port: must be nothing. */
const notTunnel = (site: SiteGateway, packets: string[]) =>
  packets.filter((p) => p.includes(` IP ${site.uplinkAddress}.`) || p.includes(` IP ${site.uplinkAddress} `)).filter((p) => !(p.includes(`> ${site.underlayAddress}.${site.port}: UDP`)));

describe('a level on WireGuard (real peer, real namespaces)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-wg-'));
  let site: SiteGateway;
  let t: TestSupervisor;
  const shell = (level: 'low' | 'high') => cageShell(innerPidOf(t.sup, level), UIDS[level]);

  beforeAll(async () => {
    site = await startSiteGateway(dir, SUBNET);
    const high = bwrapCage({ uid: UIDS.high }).replace('network: none', `network: { mode: wireguard, config: ${site.cageConfig} }`);
    const low = bwrapCage({ uid: UIDS.low }).replace('network: none', 'network: nat, dns: [192.0.2.53]');
    t = await startTestSupervisor(twoLevelPolicy({ low, high }));
    await waitFor(() => t.sup.tunnelViews().some((v) => v.level === 'high' && v.state === 'up'), 'the tunnel up', 20_000);
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    site?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the site answers through the tunnel, the underlay does not, and only UDP to the peer leaves', async () => {
    const traffic = await capture(site.uplinkInterface, join(dir, 'tunnel.pcap'));
    const served = await fetchIn(shell('high'), site.tunnelAddress, 8080);
    expect(served.stdout).toContain('site service through the tunnel');
    const underlay = await fetchIn(shell('high'), site.underlayAddress, 8081);
    expect(underlay.stdout).not.toContain('underlay only');
    expect(underlay.stderr).toMatch(/Network is unreachable/);
    // A name lookup goes to the resolver inside the tunnel, never in clear.
    await shell('high')('getent hosts intranet.example; true');
    const packets = await traffic.stop();
    expect(packets.filter((p) => p.includes(`> ${site.underlayAddress}.${site.port}: UDP`)).length).toBeGreaterThan(0);
    expect(notTunnel(site, packets)).toEqual([]);

    expect(t.sup.tunnelViews()).toEqual([expect.objectContaining({ level: 'high', state: 'up', endpoint: `${site.underlayAddress}:${site.port}` })]);
    expect(t.records().some((r) => r.kind === 'tunnel.state' && r.level === 'high' && r.state === 'up')).toBe(true);
  });

  it('high holds only lo and its tunnel; low keeps its own path; neither sees the other', async () => {
    const interfaces = async (level: 'low' | 'high') => (await shell(level)('cat /proc/net/dev | tail -n +3 | cut -d: -f1')).stdout.split('\n').map((s) => s.trim()).filter(Boolean).sort();
    const high = await interfaces('high');
    expect(high).toHaveLength(2);
    expect(high).toContain('lo');
    expect(high.find((i) => i !== 'lo')).toMatch(/^clw[0-9a-f]{10}$/);
    expect(await interfaces('low')).toEqual(['lo', 'tap0']);
    // Low reaches the underlay through its NAT; high, as seen above, cannot.
    expect((await fetchIn(shell('low'), site.underlayAddress, 8081)).stdout).toContain('underlay only');
    expect((await fetchIn(shell('low'), site.tunnelAddress, 8080)).stdout).not.toContain('site service');
  });

  it('with the peer stopped, nothing but encrypted handshakes to the peer leaves high', async () => {
    site.stopPeer();
    const traffic = await capture(site.uplinkInterface, join(dir, 'stopped.pcap'));
    const r = await fetchIn(shell('high'), site.tunnelAddress, 8080);
    expect(r.stdout).not.toContain('site service');
    expect(notTunnel(site, await traffic.stop())).toEqual([]);
  });
});

describe('a WireGuard configuration that is missing or wrong', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-wgbad-'));
  const KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
  const conf = (name: string, text: string, mode = 0o600) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    chmodSync(file, mode);
    chownSync(file, 0, 0);
    return file;
  };
  const good = `[Interface]\nPrivateKey = ${KEY}\nAddress = 10.99.0.2/32\n\n[Peer]\nPublicKey = ${KEY}\nEndpoint = 10.231.0.2:51820\nAllowedIPs = 10.99.0.0/24\n`;
  const policyFor = (file: string) => twoLevelPolicy({ low: bwrapCage(), high: bwrapCage({ uid: 58622 }).replace('network: none', `network: { mode: wireguard, config: ${file} }`) });
  const refusal = (file: string) => {
    try {
      parsePolicy(policyFor(file), 'p.yaml');
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('accepted');
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is refused at load with the policy file:line and the configuration file:line', () => {
    expect(parsePolicy(policyFor(conf('good.conf', good)), 'p.yaml').levels[1]!.cage).toMatchObject({ network: { mode: 'wireguard' } });
    expect(refusal(join(dir, 'missing.conf'))).toMatch(/^p\.yaml:12:\d+: levels\[1\]\.cage\.network\.config: cannot read the WireGuard configuration .*missing\.conf: ENOENT/);
    expect(refusal(conf('open.conf', good, 0o644))).toMatch(/open\.conf holds a private key: it must be root's and 0600/);
    expect(refusal(conf('badkey.conf', good.replace(`PrivateKey = ${KEY}`, 'PrivateKey = short')))).toMatch(/badkey\.conf:2: PrivateKey is not a WireGuard key/);
    expect(refusal(conf('endpoint.conf', good.replace('10.231.0.2:51820', 'no port here')))).toMatch(/endpoint\.conf:7: Endpoint is not host:port/);
    expect(refusal(conf('hook.conf', good.replace('[Peer]', 'PostUp = iptables -F\n[Peer]')))).toMatch(/hook\.conf:5: "PostUp" is not supported here/);
    expect(refusal(conf('dns.conf', good.replace('Address = 10.99.0.2/32', 'Address = 10.99.0.2/32\nDNS = 8.8.8.8')))).toMatch(/dns\.conf:4: the first DNS server is outside every AllowedIPs/);
    // A refusal repeats no value: a key pasted where a setting or an address was expected stays out of it.
    const pasted = ['yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk', 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw'];
    for (const [name, text] of [
      ['alone.conf', good.replace(`PrivateKey = ${KEY}`, `${pasted[0]}=`)],
      ['colon.conf', good.replace(`PrivateKey = ${KEY}`, `PrivateKey: ${pasted[0]}=`)],
      ['section.conf', good.replace('[Peer]', `[${pasted[1]!.replace(/[+/]/g, 'x')}]`)],
      ['address.conf', good.replace('Address = 10.99.0.2/32', `Address = 10.99.0.2/32, ${pasted[0]}=`)],
      ['allowed.conf', good.replace('AllowedIPs = 10.99.0.0/24', `AllowedIPs = ${pasted[1]}=`)],
      ['dnsvalue.conf', good.replace('Address = 10.99.0.2/32', `Address = 10.99.0.2/32\nDNS = ${pasted[1]}=`)],
      ['endpointkey.conf', good.replace('10.231.0.2:51820', `${pasted[0]}=`)],
    ] as const) {
      const message = refusal(conf(name, text));
      expect(message).toContain(`${name}:`);
      for (const key of pasted) for (const part of [key, key.slice(0, 12), key.slice(-12), key.replace(/[+/]/g, 'x').slice(8, 20)]) expect(message).not.toContain(part);
    }
    expect(refusal(conf('alone2.conf', good.replace(`PrivateKey = ${KEY}`, `${pasted[0]}=`)))).toMatch(/alone2\.conf:2: this setting is not supported here/);
    expect(refusal(conf('address2.conf', good.replace('Address = 10.99.0.2/32', 'Address = 10.99.0.2/32, 10.99.0.3')))).toMatch(/address2\.conf:3: the second entry is not an IPv4 address with its prefix length/);
    expect(refusal(conf('nopeer.conf', good.split('[Peer]')[0]!))).toMatch(/nopeer\.conf:1: no \[Peer\]/);
  });

  it('gone at start: the cage runs with no route at all, and the reason is shown', async () => {
    const file = conf('vanishing.conf', good);
    const t = await startTestSupervisor(twoLevelPolicy({ low: bwrapCage({ uid: 58626 }), high: bwrapCage({ uid: 58625 }).replace('network: none', `network: { mode: wireguard, config: ${file} }`) }));
    try {
      // Valid when the policy loaded, gone when the cage starts again.
      rmSync(file);
      await t.sup.cages.get('high')!.retry();
      await waitFor(() => t.sup.tunnelViews().some((v) => v.level === 'high' && v.state === 'failed'), 'the tunnel to fail', 15_000);
      expect(t.sup.tunnelViews()[0]!.reason).toMatch(/cannot read the WireGuard configuration .* no route at all/);
      const high = cageShell(innerPidOf(t.sup, 'high'), 58625);
      expect((await high('cat /proc/net/dev | tail -n +3 | cut -d: -f1')).stdout.trim()).toBe('lo');
      expect((await high('ip route 2>/dev/null; cat /proc/net/route | tail -n +2')).stdout.trim()).toBe('');
    } finally {
      await t.stop();
    }
  });
});
