/**
 * The installation's journal secret: 32 random bytes in `journal.key` beside the journal (0600,
 * in the supervisor's 0700 state folder), made at the first start, read only by the supervisor
 * (and by root's `cloison audit verify`). Where the `cloison` system user exists (setup.sh, the
 * .deb), the key is that user's — the journal writer's once it runs unprivileged (#29) — so it is
 * readable by that user and root only. Two keys are derived from it: one chains the records
 * (HMAC), so a record edited, removed or added without the secret is found, plain hashes and head
 * file recomputed or not; one fingerprints content (HMAC), so the journal — and the SIEM it is
 * forwarded to — never holds a plain hash of user content that a dictionary could invert.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { chownSync, closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface JournalKeys {
  chain: Buffer;
  content: Buffer;
}

export function keyPathOf(journal: string): string {
  return join(dirname(journal), 'journal.key');
}

function derive(secret: Buffer): JournalKeys {
  const key = (info: string) => Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), info, 32));
  return { chain: key('cloison journal chain v1'), content: key('cloison content fingerprint v1') };
}

/** The keys from a key file, or null if it cannot be read. */
export function readJournalKeys(keyFile: string): JournalKeys | null {
  try {
    const secret = readFileSync(keyFile);
    return secret.length >= 32 ? derive(secret) : null;
  } catch {
    return null;
  }
}

/** The installation's keys, making the secret on the first start (`created`). */
export function loadOrCreateJournalKeys(journal: string): { keys: JournalKeys; created: boolean } {
  const file = keyPathOf(journal);
  const existing = readJournalKeys(file);
  if (existing) {
    giveToJournalWriter(file);
    return { keys: existing, created: false };
  }
  const fd = openSync(file, 'wx', 0o600);
  writeSync(fd, randomBytes(32));
  closeSync(fd);
  giveToJournalWriter(file);
  return { keys: readJournalKeys(file)!, created: true };
}

/** The account the journal writer runs as after the split (#29): a system user of that name. */
export const JOURNAL_WRITER = 'cloison';

/** The journal writer's uid and gid from /etc/passwd (a system user is local), or null without one. */
export function journalWriterAccount(passwd = '/etc/passwd'): { uid: number; gid: number } | null {
  try {
    const line = readFileSync(passwd, 'utf8').split('\n').find((l) => l.startsWith(`${JOURNAL_WRITER}:`));
    const [, , uid, gid] = line?.split(':') ?? [];
    return uid && gid ? { uid: Number(uid), gid: Number(gid) } : null;
  } catch {
    return null;
  }
}

/** A root-owned key becomes the journal writer's, still 0600; run by root only (others cannot chown). */
function giveToJournalWriter(file: string): void {
  const writer = journalWriterAccount();
  if (!writer || process.getuid?.() !== 0 || statSync(file).uid === writer.uid) return;
  chownSync(file, writer.uid, writer.gid);
}

/**
 * A keyed fingerprint of content, for the journal, from the content's sha256: equal content, equal
 * fingerprint, and no dictionary without the key. Keyed over the digest, so the content is hashed
 * once (the shell is shown the plain sha256; the journal only this).
 */
export function contentFingerprint(keys: JournalKeys, sha256Hex: string): string {
  return createHmac('sha256', keys.content).update(`sha256:${sha256Hex}`).digest('hex');
}
