/**
 * Attack (#29): the root supervisor's history rewritten by a compromised `cloison` part. The state
 * move (rootStateToPart.ts) hands the part the root-era journal AND its key (journal.key): with
 * both, the part's account rewrites a record of the root era — a transfer from high to low shown
 * as one from low to high — recomputes every HMAC and the head, and `cloison audit verify` on the
 * part's journal says "chain intact, authenticated". The cage manager's journal (root's, which the
 * part cannot write) now anchors the moved journal (its record count, the last record's HMAC, the
 * sha256 of its bytes), and `cloison audit verify --anchor <manager journal>` checks against it.
 *
 * A real move into a real folder of a real account; the forgery done by that account itself.
 */
import { chownSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../../audit/auditJournal';
import { readJournalKeys } from '../../audit/journalKey';
import { runCli } from '../../cli/cloison';
import type { PamTestUser } from '../../testing/pamTestUser';
import { nodeAs, stateMoveFolders } from '../../testing/stateMoveFolders';
import { MANAGER_JOURNAL_FILE } from '../managerExecutors';
import { journalStateMove, moveRootStateToPart } from '../rootStateToPart';

let root: string;
let state: string;
let part: string;
let peer: PamTestUser;

/** The part's account rewrites its journal with the key it was given: every HMAC and the head recomputed. */
const FORGE = `
const fs = require('fs'), c = require('crypto');
const dir = process.argv[1];
const chain = Buffer.from(c.hkdfSync('sha256', fs.readFileSync(dir + '/journal.key'), Buffer.alloc(0), 'cloison journal chain v1', 32));
const canon = (r) => { const s = {}; for (const k of Object.keys(r).sort()) if (k !== 'hash') s[k] = r[k]; return JSON.stringify(s); };
const records = fs.readFileSync(dir + '/audit.jsonl', 'utf8').split('\\n').filter(Boolean).map((l) => JSON.parse(l));
let prev = '0'.repeat(64);
for (const r of records) {
  if (r.kind === 'clipboard.transfer' && r.from === 'high') { r.from = 'low'; r.to = 'high'; }
  r.prev = prev;
  r.hash = c.createHmac('sha256', chain).update(canon(r)).digest('hex');
  prev = r.hash;
}
fs.writeFileSync(dir + '/audit.jsonl', records.map((r) => JSON.stringify(r)).join('\\n') + '\\n');
const last = records.at(-1);
fs.writeFileSync(dir + '/audit.jsonl.head', JSON.stringify({ seq: last.seq, hash: last.hash, mac: c.createHmac('sha256', chain).update('head:' + last.seq + ':' + last.hash).digest('hex') }) + '\\n');
`;
const forgeAsPart = () => nodeAs(peer, FORGE, part);

function verify(...args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = runCli(['audit', 'verify', ...args], (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

beforeEach(() => {
  ({ root, state, part, peer } = stateMoveFolders('cloison-rootera-'));
  // The root supervisor's journal: a transfer from high to low among its records.
  const j = new FileAuditJournal(join(state, 'audit.jsonl'));
  j.append('supervisor.started', 'supervisor', {});
  j.append('clipboard.transfer', 'user', { from: 'high', to: 'low' });
  j.append('session.locked', 'user', {});
  j.close();
  // The manager's start: the move, then its own journal (its own key) records it.
  const outcome = moveRootStateToPart({ stateDir: state, partStateDir: part, owner: { uid: peer.uid, gid: peer.gid } });
  const manager = new FileAuditJournal(join(state, MANAGER_JOURNAL_FILE));
  journalStateMove(manager, outcome);
  manager.close();
  // The part's journal goes on after the move.
  // (Its keys given: opened here by root, the key would be handed to the system's `cloison` account.)
  const continued = new FileAuditJournal(join(part, 'audit.jsonl'), undefined, readJournalKeys(join(part, 'journal.key'))!);
  continued.append('supervisor.started', 'supervisor', {});
  continued.close();
  // What the part writes is its account's (here root wrote the head anew).
  for (const name of ['audit.jsonl', 'audit.jsonl.head']) chownSync(join(part, name), peer.uid, peer.gid);
});

afterEach(() => peer.remove());

describe("the root supervisor's journal after its move to the part", () => {
  it('verifies against the manager\'s anchor while unchanged, records added since included', () => {
    expect(verify(join(part, 'audit.jsonl'))).toMatchObject({ code: 0 });
    const anchored = verify('--anchor', join(state, MANAGER_JOURNAL_FILE), join(part, 'audit.jsonl'));
    expect(anchored).toMatchObject({ code: 0, out: expect.stringContaining('its first 3 records are those the cage manager moved') });
  });

  it('a root-era record rewritten by the part with the moved key passes the chain, and is caught by the anchor', () => {
    forgeAsPart();
    expect(readFileSync(join(part, 'audit.jsonl'), 'utf8')).not.toContain('"from":"high"');
    // What the part gets away with on the chain alone: the key was handed over with the journal.
    expect(verify(join(part, 'audit.jsonl'))).toMatchObject({ code: 0, out: expect.stringContaining('authenticated with the installation key') });
    const anchored = verify('--anchor', join(state, MANAGER_JOURNAL_FILE), join(part, 'audit.jsonl'));
    expect(anchored.code).toBe(1);
    expect(anchored.err).toContain("the root supervisor's history was rewritten");
  });

  it('a manager journal with no anchor, or one that does not verify, anchors nothing', () => {
    const bare = join(root, 'bare.jsonl');
    const j = new FileAuditJournal(bare);
    j.append('supervisor.started', 'supervisor', {});
    j.close();
    expect(verify('--anchor', bare, join(part, 'audit.jsonl'))).toMatchObject({ code: 1, err: expect.stringContaining('no state.movedToPart record') });
  });
});
