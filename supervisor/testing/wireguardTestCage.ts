/**
 * Test tool: a bwrap cage of a WireGuard level, as a flow mapping, its configuration written at
 * `conf` with fresh keys and its peer on 127.0.0.1 only (no packet leaves the machine).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { bwrapCage } from './testPolicy';

export function wireguardBwrapCage(conf: string, options: { uid: number; limits: string; subnet: string; port: number }): string {
  const key = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
  const peerKey = execFileSync('wg', ['pubkey'], { input: execFileSync('wg', ['genkey']), encoding: 'utf8' }).trim();
  writeFileSync(conf, `[Interface]\nPrivateKey = ${key}\nAddress = ${options.subnet}.2/32\n\n[Peer]\nPublicKey = ${peerKey}\nEndpoint = 127.0.0.1:${options.port}\nAllowedIPs = ${options.subnet}.0/24\n`, { mode: 0o600 });
  return bwrapCage({ uid: options.uid, limits: options.limits }).replace('network: none', `network: { mode: wireguard, config: ${conf} }`);
}
