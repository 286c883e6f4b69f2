/**
 * The switch to the split keeps the user's state (#29): the state a root supervisor's own code
 * wrote (its journal and key, the trust phrase, the diode's gpg home, the lock) moved to the part's
 * folder, its account's, the journal's chain verifying there and going on when the part's journal
 * opens it; a second start moves nothing; a part that already has its own keeps it. Attacks: the
 * part's account (a compromised part before the switch) plants links at the names root creates —
 * nothing outside is moved or given away.
 */
import { chownSync, existsSync, linkSync, renameSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileAuditJournal, readHead, verifyJournal } from '../audit/auditJournal';
import { readJournalKeys } from '../audit/journalKey';
import { EncryptingDiode } from '../files/encryptingDiode';
import { TrustPhraseStore } from '../trust/trustPhraseStore';
import { UnlockFailures } from '../session/unlockFailures';
import type { PamTestUser } from '../testing/pamTestUser';
import { nodeAs, stateMoveFolders } from '../testing/stateMoveFolders';
import { MANAGER_JOURNAL_FILE, MANAGER_UNLOCK_FAILURES_FILE } from './managerExecutors';
import { journalStateMove, MOVING_MARK, moveRootStateToPart } from './rootStateToPart';

let root: string;
let state: string;
let part: string;
let peer: PamTestUser;
let records: { kind: string; fields: Record<string, unknown> }[];
const journal = { append: (kind: string, _actor: string, fields: Record<string, unknown>) => records.push({ kind, fields }) };
const owner = () => ({ uid: peer.uid, gid: peer.gid });

/** What a root supervisor leaves in its state folder, written by its own code. */
async function rootSupervisorState(options: { diedWithItsAgent?: boolean } = {}): Promise<string> {
  const j = new FileAuditJournal(join(state, 'audit.jsonl'));
  j.append('supervisor.started', 'supervisor', {});
  j.append('clipboard.transfer', 'user', { from: 'low', to: 'high' });
  j.close();
  new TrustPhraseStore(state).set({ phrase: 'mon chat roux', symbol: null });
  writeFileSync(join(state, 'shell-resume.json'), '{}\n', { mode: 0o600 });
  writeFileSync(join(state, 'session.locked'), 'x\n', { mode: 0o600 });
  new UnlockFailures(join(state, 'unlock-failures.json')).write({ failures: 4, retryAt: Date.now() + 3_600_000 });
  const diode = new EncryptingDiode(join(state, 'diode'), 'test');
  const signer = await diode.signerOf('low');
  // A supervisor that died leaves its gpg-agent running (its unit's KillMode=process).
  if (!options.diedWithItsAgent) await diode.close();
  // The manager's own: stays.
  writeFileSync(join(state, 'usb-mark.key'), 'secret', { mode: 0o600 });
  mkdirSync(join(state, 'cages', 'low'), { recursive: true });
  return signer;
}

/** Done by the part's account itself, as a compromised part would. */
const asPeer = (code: string) => nodeAs(peer, code);

const treeOwners = (dir: string): number[] => readdirSync(dir, { recursive: true }).map((n) => lstatSync(join(dir, String(n))).uid);

beforeEach(() => {
  ({ root, state, part, peer } = stateMoveFolders('cloison-sm-'));
  records = [];
});

afterEach(() => peer.remove());

describe('the root supervisor\'s state moved to the cloison part', () => {
  it('moves the journal, its key, the trust phrase, the diode and the lock to the part, its account\'s; the chain verifies and goes on', async () => {
    const signer = await rootSupervisorState();
    const before = readFileSync(join(state, 'audit.jsonl'), 'utf8');
    const outcome = moveRootStateToPart({ stateDir: state, partStateDir: part, owner: owner() });
    journalStateMove(journal, outcome);
    expect(outcome?.left).toEqual([]);
    expect(outcome?.moved).toEqual(expect.arrayContaining(['journal.key', 'audit.jsonl', 'audit.jsonl.head', 'trust-phrase.json', 'shell-resume.json', 'session.locked', 'diode']));
    // Moved, not copied: nothing of the part's left in root's folder; the manager's own stay.
    expect(readdirSync(state).sort()).toEqual(['cages', MANAGER_UNLOCK_FAILURES_FILE, 'usb-mark.key']);
    for (const name of ['journal.key', 'audit.jsonl', 'audit.jsonl.head', 'trust-phrase.json']) {
      const st = statSync(join(part, name));
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([peer.uid, peer.gid, 0o600]);
    }
    expect(new Set(treeOwners(join(part, 'diode')))).toEqual(new Set([peer.uid]));
    expect(statSync(join(part, 'diode')).uid).toBe(peer.uid);
    // The level's signing key the recipients know, usable by the part's account in its own gpg home.
    const home = join(part, 'diode', 'gnupg');
    const listed = asPeer(`process.stdout.write(require('child_process').execFileSync('gpg', ['--homedir', ${JSON.stringify(home)}, '--batch', '--with-colons', '--list-secret-keys']))`).toString();
    asPeer(`require('child_process').execFileSync('gpgconf', ['--homedir', ${JSON.stringify(home)}, '--kill', 'gpg-agent'])`);
    expect(listed).toContain(`fpr:::::::::${signer}:`);
    // The user's phrase is there for the part: not asked again.
    expect(new TrustPhraseStore(part).get()?.phrase).toBe('mon chat roux');
    // The chain, verified with its key, then continued by a journal opened where the part opens it.
    expect(readFileSync(join(part, 'audit.jsonl'), 'utf8')).toBe(before);
    const keys = readJournalKeys(join(part, 'journal.key'));
    const continued = new FileAuditJournal(join(part, 'audit.jsonl'));
    continued.append('supervisor.started', 'supervisor', {});
    continued.close();
    const verdict = verifyJournal(readFileSync(join(part, 'audit.jsonl'), 'utf8'), readHead(join(part, 'audit.jsonl')), keys);
    expect(verdict).toMatchObject({ ok: true, count: 3, authenticated: true });
    // The guesser's wait is the manager's now.
    expect(JSON.parse(readFileSync(join(state, MANAGER_UNLOCK_FAILURES_FILE), 'utf8'))).toMatchObject({ failures: 4 });
    // Journaled: the names, never the contents.
    const moved = records.find((r) => r.kind === 'state.movedToPart');
    expect(moved?.fields.moved).toContain('trust-phrase.json');
    expect(JSON.stringify(records)).not.toContain('chat roux');
  });

  it('a gpg-agent the root supervisor left on the diode\'s home is stopped before the home is the part\'s', async () => {
    await rootSupervisorState({ diedWithItsAgent: true });
    const agents = (home: string) => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return argv.some((a) => a.endsWith('gpg-agent')) && argv.includes(home);
      } catch {
        return false;
      }
    });
    expect(agents(join(state, 'diode', 'gnupg'))).not.toEqual([]);
    moveRootStateToPart({ stateDir: state, partStateDir: part, owner: owner() });
    expect(agents(join(state, 'diode', 'gnupg'))).toEqual([]);
    expect(readdirSync(join(part, 'diode', 'gnupg')).filter((n) => n.startsWith('S.'))).toEqual([]);
  });

  it('a second start moves nothing', async () => {
    await rootSupervisorState();
    moveRootStateToPart({ stateDir: state, partStateDir: part, owner: owner() });
    const again = moveRootStateToPart({ stateDir: state, partStateDir: part, owner: owner() });
    expect(again).toBeNull();
    journalStateMove(journal, again);
    expect(records).toEqual([]);
  });

  it('a part that started fresh keeps its own; the root supervisor\'s state stays root\'s', async () => {
    await rootSupervisorState();
    new TrustPhraseStore(part).set({ phrase: 'autre', symbol: null });
    moveRootStateToPart({ stateDir: state, partStateDir: part, owner: owner() });
    expect(new TrustPhraseStore(part).get()?.phrase).toBe('autre');
    expect(statSync(join(state, 'audit.jsonl')).uid).toBe(0);
    expect(existsSync(join(part, 'audit.jsonl'))).toBe(false);
  });

  it('a cage manager whose journal already ran here keeps the key beside it: nothing moved', async () => {
    await rootSupervisorState();
    new FileAuditJournal(join(state, MANAGER_JOURNAL_FILE)).close();
    expect(moveRootStateToPart({ stateDir: state, partStateDir: part, owner: owner() })?.moved ?? []).toEqual([]);
    expect(verifyJournal(readFileSync(join(state, 'audit.jsonl'), 'utf8'), readHead(join(state, 'audit.jsonl')), readJournalKeys(join(state, 'journal.key')))).toMatchObject({ ok: true, authenticated: true });
    expect(readdirSync(part)).toEqual([]);
  });

  it('a move cut short is finished at the next start (the mark), the file already linked not moved twice', async () => {
    await rootSupervisorState();
    // Cut after the key was set aside, given and linked into the part's folder, before its staging name went; the journal set aside only.
    mkdirSync(join(state, MOVING_MARK), { mode: 0o700 });
    renameSync(join(state, 'journal.key'), join(state, MOVING_MARK, 'journal.key'));
    chownSync(join(state, MOVING_MARK, 'journal.key'), peer.uid, peer.gid);
    linkSync(join(state, MOVING_MARK, 'journal.key'), join(part, 'journal.key'));
    renameSync(join(state, 'audit.jsonl'), join(state, MOVING_MARK, 'audit.jsonl'));
    const outcome = moveRootStateToPart({ stateDir: state, partStateDir: part, owner: owner() });
    expect(outcome?.left).toEqual([]);
    expect(existsSync(join(state, 'journal.key'))).toBe(false);
    expect(existsSync(join(state, MOVING_MARK))).toBe(false);
    expect(statSync(join(part, 'audit.jsonl')).uid).toBe(peer.uid);
    expect(verifyJournal(readFileSync(join(part, 'audit.jsonl'), 'utf8'), readHead(join(part, 'audit.jsonl')), readJournalKeys(join(part, 'journal.key')))).toMatchObject({ ok: true, authenticated: true });
  });
});

describe('a move cut short, then other starts meanwhile', () => {
  it('nothing the user chose is deleted or replaced: a phrase set aside stays aside when both folders have their own', async () => {
    await rootSupervisorState();
    mkdirSync(join(state, MOVING_MARK), { mode: 0o700 });
    renameSync(join(state, 'trust-phrase.json'), join(state, MOVING_MARK, 'trust-phrase.json'));
    // Since then: a single supervisor made one in root's folder, and the part has its own.
    new TrustPhraseStore(state).set({ phrase: 'celle du superviseur seul', symbol: null });
    new TrustPhraseStore(part).set({ phrase: 'celle du part', symbol: null });
    const outcome = moveRootStateToPart({ stateDir: state, partStateDir: part, owner: owner() });
    expect(outcome?.left).toEqual([{ name: 'trust-phrase.json', reason: `set aside in ${MOVING_MARK} by a move cut short and made again since: both kept` }]);
    expect(new TrustPhraseStore(state).get()?.phrase).toBe('celle du superviseur seul');
    expect(new TrustPhraseStore(part).get()?.phrase).toBe('celle du part');
    expect(new TrustPhraseStore(join(state, MOVING_MARK)).get()?.phrase).toBe('mon chat roux');
    expect(statSync(join(state, MOVING_MARK, 'trust-phrase.json')).uid).toBe(0);
  });

  it('set aside, and the part has its own since: put back at its name, root\'s; the part\'s not replaced', async () => {
    await rootSupervisorState();
    mkdirSync(join(state, MOVING_MARK), { mode: 0o700 });
    renameSync(join(state, 'trust-phrase.json'), join(state, MOVING_MARK, 'trust-phrase.json'));
    new TrustPhraseStore(part).set({ phrase: 'celle du part', symbol: null });
    const outcome = moveRootStateToPart({ stateDir: state, partStateDir: part, owner: owner() });
    expect(outcome?.left).toEqual([{ name: 'trust-phrase.json', reason: 'the part already has one' }]);
    expect(new TrustPhraseStore(part).get()?.phrase).toBe('celle du part');
    expect(new TrustPhraseStore(state).get()?.phrase).toBe('mon chat roux');
    expect(statSync(join(state, 'trust-phrase.json')).uid).toBe(0);
    expect(existsSync(join(state, MOVING_MARK))).toBe(false);
  });
});

describe('attacks: links planted in the part\'s folder by its account', () => {
  it('links at every name root creates, during a move under way: no target moved onto, chowned or replaced; the state stays root\'s', async () => {
    await rootSupervisorState();
    const victim = join(root, 'victim');
    mkdirSync(victim, { mode: 0o700 });
    writeFileSync(join(victim, 'shadow'), 'root only', { mode: 0o600 });
    // The part's account plants them (as itself), a move under way so the planted names do not stop it outright.
    for (const name of ['journal.key', 'audit.jsonl', 'audit.jsonl.head', 'trust-phrase.json', 'shell-resume.json', 'session.locked', 'diode']) {
      asPeer(`require('fs').symlinkSync(${JSON.stringify(name === 'diode' ? victim : join(victim, 'shadow'))}, ${JSON.stringify(join(part, name))})`);
    }
    mkdirSync(join(state, MOVING_MARK), { mode: 0o700 });
    const outcome = moveRootStateToPart({ stateDir: state, partStateDir: part, owner: owner() });
    expect(readFileSync(join(victim, 'shadow'), 'utf8')).toBe('root only');
    for (const p of [victim, join(victim, 'shadow')]) expect(statSync(p).uid).toBe(0);
    expect(outcome?.moved).toEqual([]);
    expect(readdirSync(victim)).toEqual(['shadow']);
    // Root's own files: still root's, still there.
    for (const name of ['journal.key', 'audit.jsonl', 'trust-phrase.json']) expect(existsSync(join(state, name))).toBe(true);
    expect(statSync(join(state, 'trust-phrase.json')).uid).toBe(0);
    expect(existsSync(join(state, MOVING_MARK))).toBe(false);
    expect(new Set(treeOwners(join(state, 'diode')))).toEqual(new Set([0]));
    expect(statSync(join(state, 'diode')).uid).toBe(0);
  });

  it('a folder with something in it at the diode\'s name: the diode stays root\'s, nothing given away', async () => {
    await rootSupervisorState();
    asPeer(`require('fs').mkdirSync(${JSON.stringify(join(part, 'diode', 'x'))}, { recursive: true })`);
    mkdirSync(join(state, MOVING_MARK), { mode: 0o700 });
    const outcome = moveRootStateToPart({ stateDir: state, partStateDir: part, owner: owner() });
    expect(outcome?.left.map((l) => l.name)).toEqual(['diode']);
    expect(new Set(treeOwners(join(state, 'diode')))).toEqual(new Set([0]));
  });
});
