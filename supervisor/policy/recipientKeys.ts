/**
 * The encrypting diode's recipients: OpenPGP public keys in files the policy names, read with
 * Debian's gpg (`--show-keys`, in a throw-away home: nothing is imported anywhere). A recipient
 * file must be root's and writable by nobody else — whoever could replace it would read every file
 * that goes down — and hold a key that can encrypt, neither expired nor revoked.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from '../system/binaries';
import { rootFileProblem } from '../system/rootFile';

export interface RecipientKey {
  file: string;
  /** The primary key's fingerprint (what the journal records). */
  fingerprint: string;
  /** The first user id, as the key says it (shown in the trusted dialog, sanitised there). */
  uid: string;
}

/** Reads one recipient file; throws with what is wrong with it. */
export function readRecipientKey(file: string): RecipientKey {
  const problem = rootFileProblem(file, 'the recipient key', 0o022, (uid, mode) => `${file} must be root's and writable by root only (it is uid ${uid}, mode ${mode}): whoever could replace it would read what goes down`);
  if (problem) throw new Error(problem.endsWith(': EACCES') ? `${problem}: ${readableBy()}` : problem);
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new Error(`cannot read the recipient key ${file}: ${readableBy()}`);
  }
  const gpg = findBinary('gpg');
  if (!gpg) throw new Error('gpg not found: install gpg (the encrypting diode needs it)');
  const home = mkdtempSync(join(tmpdir(), 'cloison-gpg-'));
  let listing: string;
  try {
    listing = execFileSync(gpg, ['--batch', '--no-tty', '--homedir', home, '--with-colons', '--show-keys', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (err) {
    const said = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n').pop();
    throw new Error(`${file} is not an OpenPGP public key (${said})`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  return parseKeyListing(file, listing);
}

/**
 * Whom a recipient file must be readable by: the account reading the policy (split, the `cloison`
 * part, which encrypts to it). A public key: root's 0644 in folders that account may pass through.
 */
function readableBy(): string {
  const me = userInfo();
  return `it is read as ${me.username} (uid ${me.uid}): the file and every folder above it must be readable by that account (a public key: root's, 0644, in folders 0755)`;
}

/** gpg's colon listing: pub/sub records (validity, capabilities), fpr and uid lines. */
export function parseKeyListing(file: string, listing: string): RecipientKey {
  const records = listing.split('\n').map((l) => l.split(':'));
  const primary = records.findIndex((r) => r[0] === 'pub');
  if (primary < 0) throw new Error(`${file} holds no public key`);
  if (records.filter((r) => r[0] === 'pub').length > 1) throw new Error(`${file} holds more than one key: name one recipient per file`);
  const fingerprint = records.slice(primary).find((r) => r[0] === 'fpr')?.[9] ?? '';
  const uid = records.find((r) => r[0] === 'uid')?.[9] ?? '';
  // Field 2 is validity (e: expired, r: revoked), field 12 the key's own capabilities.
  const usable = (r: string[]) => !['e', 'r', 'd', 'i'].includes(r[1] ?? '') && (r[11] ?? '').includes('e');
  if (['e', 'r'].includes(records[primary]![1] ?? '')) throw new Error(`${file}: the key ${fingerprint} is ${records[primary]![1] === 'e' ? 'expired' : 'revoked'}`);
  if (!records.some((r) => (r[0] === 'pub' || r[0] === 'sub') && usable(r))) throw new Error(`${file}: the key ${fingerprint} has no usable encryption key (expired, revoked, or signing only)`);
  return { file, fingerprint, uid: uid.replace(/\\x([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))) };
}
