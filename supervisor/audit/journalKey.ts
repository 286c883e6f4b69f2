/**
 * The installation's journal secret: 32 random bytes in `journal.key` beside the journal (0600,
 * in the supervisor's 0700 state folder), made at the first start, read only by the supervisor
 * (and by root's `cloison audit verify`). Two keys are derived from it: one chains the records
 * (HMAC), so a record edited, removed or added without the secret is found, plain hashes and head
 * file recomputed or not; one fingerprints content (HMAC), so the journal — and the SIEM it is
 * forwarded to — never holds a plain hash of user content that a dictionary could invert.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
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
  if (existing) return { keys: existing, created: false };
  const fd = openSync(file, 'wx', 0o600);
  writeSync(fd, randomBytes(32));
  closeSync(fd);
  return { keys: readJournalKeys(file)!, created: true };
}

/**
 * A keyed fingerprint of content, for the journal, from the content's sha256: equal content, equal
 * fingerprint, and no dictionary without the key. Keyed over the digest, so the content is hashed
 * once (the shell is shown the plain sha256; the journal only this).
 */
export function contentFingerprint(keys: JournalKeys, sha256Hex: string): string {
  return createHmac('sha256', keys.content).update(`sha256:${sha256Hex}`).digest('hex');
}
