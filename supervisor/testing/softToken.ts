/**
 * Test helper: a SoftHSM2 token of the test's own (its folder, its configuration), initialised
 * with a key pair for each level and an extractable secret key, for the card proxies' uids.
 * SoftHSM2 writes its files 0600 (and rewrites them in place, modes kept): two levels' proxies,
 * each its own uid, share the token as its owner and its group — the files 0660 and the folders
 * 0770 to the second uid's gid, the gid setpriv gives that proxy (`--regid`, groups cleared).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const TOKEN_PIN = '123456';
export const TOKEN_SO_PIN = '87654321';

export interface SoftToken {
  conf: string;
  label: string;
}

/**
 * Objects: high-sign (RSA pair, id 01), low-auth (RSA pair, id 02), high-secret (AES, extractable,
 * id 03). `uids`: the proxy uids that use it, at most two (its owner, and the gid of its group).
 */
export function makeSoftToken(dir: string, uids: number | [number] | [number, number]): SoftToken {
  const [owner, second] = typeof uids === 'number' ? [uids] : uids;
  mkdirSync(join(dir, 'tokens'), { recursive: true, mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`, { mode: 0o644 });
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const tool = (args: string[]) => execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--login', '--pin', TOKEN_PIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'card', '--so-pin', TOKEN_SO_PIN, '--pin', TOKEN_PIN], { env, stdio: 'ignore' });
  tool(['--keypairgen', '--key-type', 'rsa:2048', '--label', 'high-sign', '--id', '01']);
  tool(['--keypairgen', '--key-type', 'rsa:2048', '--label', 'low-auth', '--id', '02']);
  tool(['--keygen', '--key-type', 'aes:32', '--label', 'high-secret', '--id', '03', '--extractable']);
  chownTree(dir, owner, second);
  return { conf, label: 'card' };
}

/** Owned by `uid`; with `groupGid`, its group's too (folders 0770, files 0660), else the owner's alone. */
function chownTree(path: string, uid: number, groupGid?: number): void {
  chownSync(path, uid, groupGid ?? uid);
  const folder = statSync(path).isDirectory();
  if (groupGid !== undefined) chmodSync(path, folder ? 0o770 : 0o660);
  if (folder) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, groupGid);
}
