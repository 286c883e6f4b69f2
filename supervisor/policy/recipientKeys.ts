/**
 * The encrypting diode's recipients: OpenPGP public keys in files the policy names, read with
 * Debian's gpg (`--show-keys`, in a throw-away home: nothing is imported anywhere). A recipient
 * file must be root's and writable by nobody else — whoever could replace it would read every file
 * that goes down — and hold a key that can encrypt, neither expired nor revoked.
 *
 * A reload while the process serves (the cage manager's SIGHUP, policyLoader.ts parsePolicyAsking)
 * asks gpg without stopping it (readRecipientKeyAsync): a gpg that hangs (a keyring agent that
 * never answers, a slow home) is waited on up to GPG_TIMEOUT_MS while everything else is served.
 */
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
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

/** How long gpg may take to list one key before the key is refused. */
const GPG_TIMEOUT_MS = 10_000;

const gpgArguments = (home: string, file: string) => ['--batch', '--no-tty', '--homedir', home, '--with-colons', '--show-keys', file];

/** Reads one recipient file; throws with what is wrong with it. */
export function readRecipientKey(file: string): RecipientKey {
  const gpg = gpgFor(file);
  const home = mkdtempSync(join(tmpdir(), 'cloison-gpg-'));
  let listing: string;
  try {
    listing = execFileSync(gpg, gpgArguments(home, file), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: GPG_TIMEOUT_MS });
  } catch (err) {
    throw notAKey(file, err);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  return parseKeyListing(file, listing);
}

/** readRecipientKey without stopping the process while gpg runs (a reload while it serves). */
export async function readRecipientKeyAsync(file: string): Promise<RecipientKey> {
  const gpg = gpgFor(file);
  const home = await mkdtemp(join(tmpdir(), 'cloison-gpg-'));
  let listing: string;
  try {
    listing = await new Promise<string>((resolve, reject) => {
      execFile(gpg, gpgArguments(home, file), { encoding: 'utf8', timeout: GPG_TIMEOUT_MS }, (err, stdout, stderr) => (err ? reject(Object.assign(err, { stderr })) : resolve(stdout)));
    });
  } catch (err) {
    throw notAKey(file, err);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
  return parseKeyListing(file, listing);
}

/** The file's own checks (root's, readable), then gpg's path; throws with what is wrong. */
function gpgFor(file: string): string {
  const problem = rootFileProblem(file, 'the recipient key', 0o022, (uid, mode) => `${file} must be root's and writable by root only (it is uid ${uid}, mode ${mode}): whoever could replace it would read what goes down`);
  if (problem) throw new Error(problem.endsWith(': EACCES') ? `${problem}: ${readableBy()}` : problem);
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new Error(`cannot read the recipient key ${file}: ${readableBy()}`);
  }
  const gpg = findBinary('gpg');
  if (!gpg) throw new Error('gpg not found: install gpg (the encrypting diode needs it)');
  return gpg;
}

function notAKey(file: string, err: unknown): Error {
  const failed = err as { killed?: boolean; code?: unknown };
  if (failed.killed || failed.code === 'ETIMEDOUT') return new Error(`${file}: gpg did not list the key within ${GPG_TIMEOUT_MS / 1000} s (gpg or its keyring agent hung): the key is not taken`);
  const said = ((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n').pop();
  return new Error(`${file} is not an OpenPGP public key (${said})`);
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
