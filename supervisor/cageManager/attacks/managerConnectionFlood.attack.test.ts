/**
 * A compromised `cloison` part opens connection after connection to the cage manager's socket and
 * keeps them. Each cost the manager, as root, a descriptor for as long as the part liked: with
 * its table full (here the manager's limit lowered to 256 to reach it quickly; the part's is as
 * high as the manager's), root's journal could no longer write (its head is a file written anew
 * at each record), so a refusal of the part's next forbidden request went unrecorded, and every
 * root act needing a descriptor (a FIFO, a device, a helper's channel, a part started again) failed
 * for every level. The part is the one peer and needs one connection (a few while it reconnects):
 * past a bound the manager closes a new connection at once, journaled once until fewer are open.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPamTestUser, type PamTestUser } from '../../testing/pamTestUser';
import { testRoot } from '../../testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { MANAGER_JOURNAL_FILE } from '../managerExecutors';

const REPO = resolve(__dirname, '..', '..', '..');
const MANAGER_FILES = 256;
const CONNECTIONS = 600;

/**
 * The hostile part: one connection first, then CONNECTIONS more, each asking app.running (answered,
 * not journaled) so that once each is answered or closed the manager has taken them all; then, on
 * the first, a request the policy refuses. Prints what it saw and holds every connection open.
 */
const FLOODER = `
const net = require('net');
const [path, count, forbidden] = process.argv.slice(1);
const frame = (id, request) => { const b = Buffer.from(JSON.stringify({ id, request })); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); return Buffer.concat([h, b]); };
const ask = (s, id, request) => new Promise((resolve) => {
  let buf = Buffer.alloc(0);
  s.on('data', (d) => { buf = Buffer.concat([buf, d]); if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) resolve(JSON.parse(buf.subarray(4, 4 + buf.readUInt32BE(0)).toString())); });
  s.once('close', () => resolve(null));
  s.write(frame(id, request));
});
const connect = () => new Promise((resolve) => { const s = net.connect(path); s.on('error', () => undefined); s.once('connect', () => resolve(s)); s.once('close', () => resolve(s)); });
(async () => {
  const first = await connect();
  const others = await Promise.all(Array.from({ length: Number(count) }, connect));
  const answers = await Promise.all(others.map((s) => (s.destroyed ? null : ask(s, 1, { op: 'app.running', level: 'low' }))));
  const kept = answers.filter((a) => a !== null).length;
  const refusal = await ask(first, 2, JSON.parse(forbidden));
  process.stdout.write(JSON.stringify({ kept, refusal }) + '\\n');
  setInterval(() => undefined, 1000);
})();
`;

let root: string;
let state: string;
let cloison: PamTestUser;
let manager: ChildProcess | null = null;
let flooder: ChildProcess | null = null;
let stderr = '';

const stop = async (child: ChildProcess | null) => {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
};

beforeAll(async () => {
  root = testRoot('cloison-rv-cf-');
  chmodSync(root, 0o711);
  state = join(root, 'state');
  cloison = createPamTestUser();
  const policyFile = join(root, 'policy.yaml');
  writeFileSync(policyFile, twoLevelPolicy({ low: bwrapCage({ uid: 59985 }), high: bwrapCage({ uid: 59986 }) }));
  const args = ['--import', 'tsx', join(REPO, 'supervisor/cageManager/managerMain.ts'), '--policy', policyFile, '--state-dir', state, '--run-dir', join(root, 'run'), '--peer-user', cloison.user, '--no-part'];
  manager = spawn('bash', ['-c', `ulimit -n ${MANAGER_FILES} && exec "$@"`, 'bash', process.execPath, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  manager.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    manager!.once('exit', (code) => reject(new Error(`the manager ended (${code}): ${stderr}`)));
    createInterface({ input: manager!.stdout! }).once('line', () => resolve());
  });
}, 60_000);

afterAll(async () => {
  await stop(flooder);
  await stop(manager);
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
});

describe('the part opening connections without end', () => {
  it('the manager keeps a bounded number, and root\'s journal still records the part\'s next forbidden request', async () => {
    // Refused by the authorization (not a path of the level's): harmless even if it were not.
    const forbidden = { op: 'state.chown', level: 'low', path: join(root, 'not-the-cage-s', 'file'), uid: 0 };
    flooder = spawn('setpriv', ['--reuid', String(cloison.uid), '--regid', String(cloison.gid), '--clear-groups', '--', process.execPath, '-e', FLOODER, join(root, 'run', 'cage-manager.sock'), String(CONNECTIONS), JSON.stringify(forbidden)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const seen = await new Promise<{ kept: number; refusal: { ok: boolean; error?: { code: string } } | null }>((resolve, reject) => {
      flooder!.once('exit', (code) => reject(new Error(`the flooder ended (${code})`)));
      createInterface({ input: flooder!.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
    });
    const managerFiles = readdirSync(`/proc/${manager!.pid}/fd`).length;
    const journal = readFileSync(join(state, MANAGER_JOURNAL_FILE), 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    const refusedChown = journal.filter((r) => r.kind === 'rootRequest.refused' && r.op === 'state.chown');
    const refusedConnections = journal.filter((r) => r.kind === 'rootRequest.refused' && r.op === '(connection)');
    console.log(`${CONNECTIONS} connections: ${seen.kept} kept by the manager, ${managerFiles} descriptors of its own; the forbidden request answered ${JSON.stringify(seen.refusal)}; journaled: ${refusedChown.length} refusal of it, ${refusedConnections.length} of connections`);
    expect(seen.refusal?.ok).toBe(false);
    expect(refusedChown).toHaveLength(1); // root's journal still writes
    expect(seen.kept).toBeLessThanOrEqual(64);
    expect(managerFiles).toBeLessThan(MANAGER_FILES / 2);
    expect(refusedConnections).toHaveLength(1); // the flood said once, not once a connection
  }, 120_000);
});
