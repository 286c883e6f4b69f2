/**
 * The files a policy names, over the split start for real (#29: the manager's bundle starting the
 * supervisor as its `cloison` part):
 * - a level's WireGuard configuration holds its private key, root's 0600: the part neither reads it
 *   nor needs it readable (it failed its start on EACCES before), and the manager alone checks it —
 *   a wrong one refuses the manager's start with the policy's file:line:column and the
 *   configuration's own file:line, before any part runs;
 * - a diode recipient's key (public) is read by the part: one `cloison` cannot read refuses the
 *   manager's start at its load (the policy's place, by whom it must be readable), no part started.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgpPerson, type OpenPgpPerson } from '../testing/openpgpPerson';
import { testRoot } from '../testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';

const REPO = resolve(__dirname, '../..');
const UIDS = { low: 58592, high: 58593 };
const LIMITS = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';

let root: string;
let conf: string;
let person: OpenPgpPerson | null = null;
/** Managers still running (a test that failed midway): stopped after all. */
const running = new Set<ChildProcess>();

/** The manager started split on `policy` until its part says ready or it ends: what it printed. */
async function startSplit(name: string, policy: string, until?: RegExp): Promise<{ ready: boolean; exitCode: number | null; stderr: string }> {
  const dir = join(root, name);
  mkdirSync(dir, { mode: 0o711 });
  writeFileSync(join(dir, 'p.yaml'), policy, { mode: 0o644 });
  const argv = [join(REPO, 'out/supervisor/cageManager.js'), '--policy', join(dir, 'p.yaml'), '--state-dir', join(dir, 'state'), '--run-dir', join(dir, 'run'), '--log-level', 'warn'];
  const manager = spawn(process.execPath, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(manager);
  manager.once('exit', () => running.delete(manager));
  let stderr = '';
  let stdout = '';
  let said!: () => void;
  const saying = new Promise<void>((r) => (said = r));
  manager.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (until?.test(stderr)) said();
  });
  const ended = new Promise<number | null>((r) => manager.once('exit', (code) => r(code)));
  const ready = new Promise<void>((r) =>
    manager.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (/"ready":true/.test(stdout) && /"rpcSocket"/.test(stdout)) r();
    }),
  );
  const outcome = await Promise.race([ready.then(() => 'ready' as const), ended.then(() => 'ended' as const), saying.then(() => 'said' as const)]);
  if (outcome === 'said') {
    manager.kill('SIGTERM');
    await ended;
    return { ready: false, exitCode: null, stderr };
  }
  if (outcome === 'ready') {
    manager.kill('SIGTERM');
    await ended;
    return { ready: true, exitCode: null, stderr };
  }
  return { ready: false, exitCode: manager.exitCode, stderr };
}

const wireguardHigh = (file: string) => twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low, limits: LIMITS }), high: bwrapCage({ uid: UIDS.high, limits: LIMITS }).replace('network: none', `network: { mode: wireguard, config: ${file} }`) });

beforeAll(() => {
  if (!existsSync(join(REPO, 'out/supervisor/cageManager.js'))) throw new Error('out/supervisor/cageManager.js is missing: npm run build');
  root = testRoot('cloison-splitfiles-');
  chmodSync(root, 0o711);
  const key = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
  const peerKey = execFileSync('wg', ['pubkey'], { input: execFileSync('wg', ['genkey']), encoding: 'utf8' }).trim();
  conf = join(root, 'wg-high.conf');
  writeFileSync(conf, `[Interface]\nPrivateKey = ${key}\nAddress = 10.98.77.2/32\n\n[Peer]\nPublicKey = ${peerKey}\nEndpoint = 127.0.0.1:51995\nAllowedIPs = 10.98.77.0/24\n`, { mode: 0o600 });
});

afterAll(async () => {
  for (const manager of running) {
    const gone = new Promise((r) => manager.once('exit', r));
    manager.kill('SIGTERM');
    await gone;
  }
  person?.close();
}, 60_000);

describe('the policy files over the split start', () => {
  it("a level's WireGuard configuration, root's 0600: the part starts without reading it", async () => {
    const started = await startSplit('wg-good', wireguardHigh(conf), /EACCES|WireGuard configuration/);
    expect(started.stderr).not.toMatch(/EACCES|WireGuard configuration/);
    expect(started.ready).toBe(true);
  }, 120_000);

  it('a wrong one refuses the manager\'s start with its place, no part started', async () => {
    const bad = join(root, 'wg-bad.conf');
    writeFileSync(bad, `[Interface]\nPrivateKey = not-a-key\nAddress = 10.98.78.2/32\n\n[Peer]\nPublicKey = x\nEndpoint = 127.0.0.1:51994\nAllowedIPs = 10.98.78.0/24\n`, { mode: 0o600 });
    const started = await startSplit('wg-bad', wireguardHigh(bad));
    expect(started.ready).toBe(false);
    expect(started.exitCode).toBe(2);
    expect(started.stderr).toMatch(/policy refused, nothing started/);
    expect(started.stderr).toMatch(new RegExp(`p\\.yaml:\\d+:\\d+: levels\\[1\\]\\.cage\\.network\\.config: ${bad.replace(/[.]/g, '\\.')}:2: `));
    expect(started.stderr).not.toMatch(/cloison part started/);
  }, 60_000);

  it("a recipient key cloison cannot read refuses the manager's start with its place, saying by whom it must be readable", async () => {
    const keys = join(root, 'keys');
    mkdirSync(keys, { mode: 0o700 }); // an administrator's folder left root's alone
    person = openPgpPerson(keys, 'Claire');
    const policy = `${twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) })}files:\n  down: { decision: encrypt, recipients: [${person.publicKey}] }\n`;
    const refused = await startSplit('rcpt-hidden', policy);
    // Refused by the manager at its load, with its place: no part started to refuse it again and again.
    expect(refused.ready).toBe(false);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/policy refused, nothing started/);
    expect(refused.stderr).toMatch(new RegExp(`p\\.yaml:\\d+:\\d+: files\\.down\\.recipients\\[0\\]: the recipient key ${person.publicKey.replace(/[.]/g, '\\.')} cannot be read by the cloison part \\(uid \\d+\\), which encrypts to it: ${keys.replace(/[.]/g, '\\.')} \\(uid 0, gid 0, mode 700\\) is not passable by cloison; the file and every folder above it must be readable by that account`));
    expect(refused.stderr).not.toMatch(/cloison part started/);
    // As an administrator's /etc/cloison/recipients is: root's 0755, the key 0644.
    chmodSync(keys, 0o755);
    const started = await startSplit('rcpt-readable', policy);
    expect(started.stderr).not.toMatch(/recipient key/);
    expect(started.ready).toBe(true);
  }, 180_000);
});
