/**
 * The journal's key belongs to the journal writer's account (`cloison`, the unprivileged part after
 * #29) and root: that account reads it, any other local user does not.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPamTestUser } from '../testing/pamTestUser';
import { skipWithReason } from '../testing/skipWithReason';
import { FileAuditJournal } from './auditJournal';
import { journalWriterAccount, keyPathOf } from './journalKey';

const root = mkdtempSync(join(tmpdir(), 'cloison-jk-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function canRead(who: { uid: number; gid: number }, file: string): boolean {
  try {
    execFileSync('setpriv', ['--reuid', String(who.uid), '--regid', String(who.gid), '--clear-groups', '--', 'head', '-c', '1', file], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('the journal key\'s owner', () => {
  it('is the cloison user (0600): it reads the key, another local user does not', (ctx) => {
    const writer = journalWriterAccount();
    if (!writer) skipWithReason(ctx, 'no cloison system user on this machine: scripts/setup.sh creates it');
    chmodSync(root, 0o711);
    const path = join(root, 'audit.jsonl');
    new FileAuditJournal(path).close();
    const key = keyPathOf(path);
    expect(statSync(key)).toMatchObject({ uid: writer.uid, gid: writer.gid });
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(canRead(writer, key)).toBe(true);
    const stranger = createPamTestUser();
    try {
      expect(canRead(stranger, key)).toBe(false);
    } finally {
      stranger.remove();
    }
  });
});
