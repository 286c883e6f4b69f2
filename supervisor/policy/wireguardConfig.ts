/**
 * A level's WireGuard configuration, in the wg-quick format administrators already write:
 *
 *   [Interface]                     [Peer]
 *   PrivateKey = <base64>           PublicKey = <base64>
 *   Address = 10.99.0.2/32          Endpoint = gw.example.org:51820
 *   DNS = 10.99.0.1                 AllowedIPs = 10.99.0.0/16
 *   MTU = 1420                      PersistentKeepalive = 25
 *
 * The file holds the level's private key: it must be root's and 0600. Cloison configures the
 * interface itself, so wg-quick's hooks (PreUp, PostUp, Table, SaveConfig…) are refused rather than
 * ignored; addresses are IPv4. The DNS servers must lie inside the tunnel's AllowedIPs: the cage
 * has no other way to reach them.
 *
 * A refusal names the file, the line and at most a setting's name, never a value: it becomes the
 * tunnel's reason, which the band shows and the `cloison` part reads (`tunnel.status`), and a key
 * pasted where a setting was expected (`PrivateKey: <key>`, a key on a line of its own) would be
 * repeated to it.
 */
import { readFileSync } from 'node:fs';
import { rootFileProblem } from '../system/rootFile';

export interface WireguardPeer {
  publicKey: string;
  presharedKey?: string;
  endpoint: string;
  allowedIPs: string[];
  persistentKeepalive: number;
}

export interface WireguardConfig {
  file: string;
  privateKey: string;
  addresses: string[];
  dns: string[];
  mtu: number | null;
  peers: WireguardPeer[];
}

const KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const CIDR = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/;
const ENDPOINT = /^([A-Za-z0-9.-]{1,253}):(\d{1,5})$/;
/** Without keepalives a quiet tunnel makes no handshakes, and its state would read "down". */
const DEFAULT_KEEPALIVE = 25;

const INTERFACE_KEYS = new Set(['privatekey', 'address', 'dns', 'mtu', 'listenport']);
const PEER_KEYS = new Set(['publickey', 'presharedkey', 'endpoint', 'allowedips', 'persistentkeepalive']);

export class WireguardConfigError extends Error {}

/** A setting's or section's name as written, only when it cannot be a key or a value pasted in its place. */
const NAME = /^[A-Za-z]{1,32}$/;
const named = (written: string, otherwise: string) => (NAME.test(written) ? `"${written}"` : otherwise);
const nth = (i: number) => ['first', 'second', 'third'][i] ?? `number ${i + 1}`;

/** Reads and checks a configuration file; every problem names the file and line. */
export function readWireguardConfig(file: string): WireguardConfig {
  const problem = rootFileProblem(file, 'the WireGuard configuration', 0o077, (uid, mode) => `${file} holds a private key: it must be root's and 0600 (it is uid ${uid}, mode ${mode})`);
  if (problem) throw new WireguardConfigError(problem);
  return parseWireguardConfig(readFileSync(file, 'utf8'), file);
}

export function parseWireguardConfig(text: string, file: string): WireguardConfig {
  const fail = (line: number, message: string): never => {
    throw new WireguardConfigError(`${file}:${line}: ${message}`);
  };
  let section: 'interface' | 'peer' | null = null;
  // Each section keeps the line of its header under "", for what it lacks.
  const iface: Record<string, { value: string; line: number }> = { '': { value: '', line: 1 } };
  const peers: Array<Record<string, { value: string; line: number }>> = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const content = raw.replace(/#.*/, '').trim();
    if (!content) return;
    const header = /^\[(\w+)\]$/.exec(content);
    if (header) {
      const name = header[1]!.toLowerCase();
      if (name === 'interface') {
        section = 'interface';
        iface[''] = { value: '', line };
      } else if (name === 'peer') {
        section = 'peer';
        peers.push({ '': { value: '', line } });
      } else fail(line, `unknown section ${NAME.test(header[1]!) ? `[${header[1]}]` : '(only [Interface] and [Peer])'}`);
      return;
    }
    const eq = content.indexOf('=');
    if (eq < 0) fail(line, 'expected "Key = value"');
    const key = content.slice(0, eq).trim().toLowerCase();
    const value = content.slice(eq + 1).trim();
    if (section === null) fail(line, 'a setting before any [Interface] or [Peer]');
    const allowed = section === 'interface' ? INTERFACE_KEYS : PEER_KEYS;
    const written = content.slice(0, eq).trim();
    if (!allowed.has(key)) fail(line, `${named(written, 'this setting')} is not supported here (Cloison sets the interface up itself)`);
    const target = section === 'interface' ? iface : peers.at(-1)!;
    if (target[key]) fail(line, `${named(written, 'this setting')} given twice`);
    target[key] = { value, line };
  });
  const required = (o: Record<string, { value: string; line: number }>, key: string, name: string, where: string) => o[key] ?? fail(o['']!.line, `${where} has no ${name}`);
  const key = (v: { value: string; line: number }, name: string) => (KEY.test(v.value) ? v.value : fail(v.line, `${name} is not a WireGuard key (44 characters of base64)`));
  const list = (v: { value: string }) => v.value.split(',').map((x) => x.trim()).filter(Boolean);
  const cidr = (a: string, i: number, line: number) => {
    const m = CIDR.exec(a);
    if (!m || !IPV4.test(m[1]!) || Number(m[2]) > 32) fail(line, `the ${nth(i)} entry is not an IPv4 address with its prefix length (10.99.0.2/32)`);
    return a;
  };
  const privateKey = key(required(iface, 'privatekey', 'PrivateKey', '[Interface]'), 'PrivateKey');
  const address = required(iface, 'address', 'Address', '[Interface]');
  const addresses = list(address).map((a, i) => cidr(a, i, address.line));
  const dnsEntry = iface['dns'];
  const dns = dnsEntry ? list(dnsEntry).map((d, i) => (IPV4.test(d) ? d : fail(dnsEntry.line, `the ${nth(i)} DNS server is not an IPv4 address`))) : [];
  const mtuEntry = iface['mtu'];
  const mtu = mtuEntry ? Number(mtuEntry.value) : null;
  if (mtuEntry && (!Number.isInteger(mtu) || mtu! < 1280 || mtu! > 9000)) fail(mtuEntry.line, 'MTU is a whole number between 1280 and 9000');
  if (peers.length === 0) fail(1, 'no [Peer]: the tunnel would lead nowhere');
  const parsedPeers = peers.map((p): WireguardPeer => {
    const endpoint = required(p, 'endpoint', 'Endpoint', '[Peer]');
    const m = ENDPOINT.exec(endpoint.value);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) fail(endpoint.line, 'Endpoint is not host:port');
    const allowed = required(p, 'allowedips', 'AllowedIPs', '[Peer]');
    const keepalive = p['persistentkeepalive'];
    const ka = keepalive ? Number(keepalive.value) : DEFAULT_KEEPALIVE;
    if (keepalive && (!Number.isInteger(ka) || ka < 0 || ka > 65535)) fail(keepalive.line, 'PersistentKeepalive is a number of seconds');
    return {
      publicKey: key(required(p, 'publickey', 'PublicKey', '[Peer]'), 'PublicKey'),
      ...(p['presharedkey'] ? { presharedKey: key(p['presharedkey'], 'PresharedKey') } : {}),
      endpoint: endpoint.value,
      allowedIPs: list(allowed).map((a, i) => cidr(a, i, allowed.line)),
      persistentKeepalive: ka,
    };
  });
  dns.forEach((d, i) => {
    if (!parsedPeers.some((p) => p.allowedIPs.some((a) => contains(a, d)))) fail(dnsEntry!.line, `the ${nth(i)} DNS server is outside every AllowedIPs: the cage could never reach it`);
  });
  return { file, privateKey, addresses, dns, mtu, peers: parsedPeers };
}

/** wg(8)'s own format for `wg setconf`: the keys and peers, none of wg-quick's additions. */
export function setconfText(config: WireguardConfig): string {
  const lines = ['[Interface]', `PrivateKey = ${config.privateKey}`];
  for (const p of config.peers) {
    lines.push('', '[Peer]', `PublicKey = ${p.publicKey}`, `Endpoint = ${p.endpoint}`, `AllowedIPs = ${p.allowedIPs.join(', ')}`, `PersistentKeepalive = ${p.persistentKeepalive}`);
    if (p.presharedKey) lines.push(`PresharedKey = ${p.presharedKey}`);
  }
  return `${lines.join('\n')}\n`;
}

function contains(cidr: string, address: string): boolean {
  const [net, bits] = cidr.split('/');
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return ((toInt(net!) & mask) >>> 0) === ((toInt(address) & mask) >>> 0);
}

function toInt(address: string): number {
  return address.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}
