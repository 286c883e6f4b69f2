/**
 * Attack (#29 review): a compromised `cloison` part asks `policy.reload` without end, one after the
 * other (each answered before the next: nothing to coalesce, never past its lane, never BUSY). Each
 * is a full read and parse of root's policy file and a record in root's journal (fsync'd): unlike
 * the refusals (refusalJournal.ts: 16 per op and gate in a window, then one counting the rest),
 * nothing bounded them: seen, every reload journaled one by one (the part filling root's journal at
 * the rate the manager reads a file, the administrator's own reloads drowned). Now a repeat of the
 * outcome last journaled is counted, not written (its count goes with the next record).
 */
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../../audit/auditJournal';
import { parsePolicy } from '../../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../../testing/pamTestUser';
import { testRoot } from '../../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { CageManagerServer } from '../cageManagerServer';
import { ManagerPolicyReload } from '../managerPolicyReload';

const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 61870 }), high: bwrapCage({ uid: 61871 }) });
const RELOADS = 3000;

/** The part: RELOADS policy.reload, each sent once the last is answered; prints the answers counted. */
const RELOADER = `
const net = require('net');
const [path, count] = process.argv.slice(1);
const frame = (id, request) => { const b = Buffer.from(JSON.stringify({ id, request })); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); return Buffer.concat([h, b]); };
const n = Number(count);
const codes = {};
let sent = 0;
let buf = Buffer.alloc(0);
const s = net.connect(path);
s.on('error', (e) => { process.stdout.write(JSON.stringify({ error: e.code || e.message, codes })); process.exit(0); });
s.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
    const r = JSON.parse(buf.subarray(4, 4 + buf.readUInt32BE(0)).toString());
    buf = buf.subarray(4 + buf.readUInt32BE(0));
    const code = r.ok ? (r.result.accepted ? 'accepted' : 'refused') : r.error.code;
    codes[code] = (codes[code] || 0) + 1;
    if (sent === n) { process.stdout.write(JSON.stringify({ codes })); process.exit(0); }
    s.write(frame(sent, { op: 'policy.reload' })); sent += 1;
  }
});
s.on('connect', () => { s.write(frame(sent, { op: 'policy.reload' })); sent += 1; });
`;

let root: string;
let cloison: PamTestUser;
let journal: FileAuditJournal;
let server: CageManagerServer;
let applied = 0;

beforeAll(async () => {
  root = testRoot('cloison-reloadjournal-');
  chmodSync(root, 0o711);
  writeFileSync(join(root, 'p.yaml'), POLICY);
  // Settled (saved two seconds ago): a file just written is answered "being written" (settledPolicyText.ts).
  utimesSync(join(root, 'p.yaml'), new Date(Date.now() - 2000), new Date(Date.now() - 2000));
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'audit.jsonl'));
  const reload = new ManagerPolicyReload({ file: join(root, 'p.yaml'), journal, apply: () => void (applied += 1), log: () => undefined });
  server = new CageManagerServer({
    socketPath: join(root, 'manager.sock'),
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy: () => parsePolicy(POLICY, 'p.yaml'), stateDir: join(root, 'state'), runDir: join(root, 'run'), trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: { 'policy.reload': reload.executor() },
    refusalJournal: { windowMs: 600_000 },
  });
  await server.listen();
});

afterAll(async () => {
  await server?.close();
  journal?.close();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
});

function reloads(): Promise<{ codes: Record<string, number>; error?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', [`--reuid=${cloison.uid}`, `--regid=${cloison.gid}`, '--clear-groups', '--', process.execPath, '-e', RELOADER, join(root, 'manager.sock'), String(RELOADS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out) as { codes: Record<string, number> });
      } catch {
        reject(new Error(`the reloading part printed ${JSON.stringify(out.slice(0, 300))}`));
      }
    });
  });
}

describe('a part asking policy.reload without end, one at a time', () => {
  it('a part asking again and again writes one record into root\'s journal, not one a request (seen before: 3000 records for 3000 requests)', async () => {
    const outcome = await reloads();
    const records = readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const reloadRecords = records.filter((r) => r.kind === 'policy.reload');
    console.log(`${RELOADS} reloads asked by the part: answers ${JSON.stringify(outcome.codes)}; ${reloadRecords.length} policy.reload records, ${statSync(journal.path).size} bytes in root's journal; the policy applied ${applied} times`);
    expect(outcome.codes).toEqual({ accepted: RELOADS });
    // The same file each time: its first reading journaled, the repeats not (each still read and applied: bounded per turn).
    expect(reloadRecords).toHaveLength(1);
    expect(reloadRecords[0]).toMatchObject({ kind: 'policy.reload' });
    expect(applied).toBe(RELOADS);
  }, 120_000);
});
