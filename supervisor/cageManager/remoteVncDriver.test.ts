/**
 * A vnc level over the split (#29): its VNC server's socket is root's, in a root 0700 folder (as
 * libvirt makes a VM's), and the `cloison` part (a real process of that account, the manager's
 * child) cannot open it. Its driver (remoteVncDriver.ts) gets every connection from a real cage
 * manager server (root) with the real `vnc.connect` executor: the part's fleet sees the level
 * start, a viewer reads the server's RFB greeting over the handed connection, the server gone ends
 * the level with the same words as the root supervisor's VncDriver, and a retry once it is back
 * starts it again.
 * Attacks by a compromised part: a request naming a path (refused by the schema), a bwrap level, a
 * level whose endpoint is TCP; the policy's socket swapped for a link to another server's socket
 * after the policy was loaded (a plain connect by path reaches it: seen below) — never handed over.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy/policyLoader';
import { commandedPart, type CommandedPart } from '../testing/commandedPart';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy, vncCage } from '../testing/testPolicy';
import { REFUSED_KIND } from './cageManagerServer';
import { vncServerExecutor } from './vncServerExecutor';

type Reply = { ok: boolean; result?: unknown; error?: string; code?: string | null };

let root: string;
let serverDir: string;
let socketPath: string;
let secretPath: string;
let manager: ServedManager;
let part: CommandedPart<Reply>;
let vm: Server | null = null;
let secret: Server | null = null;

/** A VNC server that greets with `version` (what tells the VM's from the other one). */
function rfbServer(path: string, version: string): Promise<Server> {
  rmSync(path, { force: true });
  const server = createServer((s) => {
    s.on('error', () => undefined);
    s.write(version);
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

function closeServer(server: Server | null): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}

const ask = (command: Record<string, unknown>) => part.ask(command);

/** What a plain connect by path (the root supervisor's, or a naive manager's) reads there. */
function greetingAt(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once('data', (b: Buffer) => (s.destroy(), resolve(b.toString('latin1'))));
    s.once('error', reject);
  });
}

beforeAll(async () => {
  root = testRoot('cloison-rvnc-');
  chmodSync(root, 0o711);
  // The VM's socket: root's folder, 0700, as libvirt's.
  serverDir = join(root, 'vm');
  mkdirSync(serverDir, { mode: 0o700 });
  socketPath = join(serverDir, 'vnc.sock');
  secretPath = join(serverDir, 'other.sock');
  vm = await rfbServer(socketPath, 'RFB 003.008\n');
  secret = await rfbServer(secretPath, 'RFB 003.003\n');
  const policyText = twoLevelPolicy({ low: bwrapCage({ uid: 58830 }), high: vncCage(socketPath) });
  const policy = () => {
    const p = parsePolicy(policyText, 'p.yaml');
    // A third level, its endpoint TCP: the part connects to it itself.
    return { ...p, levels: [...p.levels, { ...p.levels[1]!, id: 'net', cage: { driver: 'vnc' as const, endpoint: { host: '127.0.0.1', port: 5999 } } }] };
  };
  manager = await serveManagerToCloison({ root, policy, executors: ({ part }) => ({ 'vnc.connect': vncServerExecutor({ policy, part }) }) });
  part = await commandedPart<Reply>(manager, join(__dirname, 'remoteVncPart.testTool.ts'));
  expect(part.listening).toMatchObject({ uid: manager.cloison.uid });
}, 60_000);

afterAll(async () => {
  part?.close();
  await manager?.close(async () => {
    await closeServer(vm);
    await closeServer(secret);
  });
});

describe('a vnc level whose socket is root\'s, in the cloison part', () => {
  it('the part cannot open the socket itself; through the manager the level starts and a viewer reads the server\'s greeting', async () => {
    expect(await ask({ cmd: 'direct', path: socketPath })).toMatchObject({ ok: false, error: expect.stringMatching(/EACCES/) });
    expect(await ask({ cmd: 'start', level: 'high', socket: socketPath })).toEqual({ id: expect.any(Number), ok: true, result: { endpoint: { path: socketPath } } });
    expect(await ask({ cmd: 'view', level: 'high' })).toMatchObject({ ok: true, result: { banner: 'RFB 003.008\n' } });
  });

  it('the server gone ends the level, saying so; back, a retry starts it again', async () => {
    await closeServer(vm);
    vm = null;
    expect(await ask({ cmd: 'exited', level: 'high' })).toMatchObject({ ok: true, result: { reason: expect.stringContaining(`VNC endpoint ${socketPath} stopped answering`) } });
    expect(await ask({ cmd: 'start', level: 'high', socket: socketPath })).toMatchObject({ ok: false, error: expect.stringContaining(`VNC endpoint ${socketPath} unreachable`) });
    vm = await rfbServer(socketPath, 'RFB 003.008\n');
    expect(await ask({ cmd: 'start', level: 'high', socket: socketPath })).toMatchObject({ ok: true });
    expect(await ask({ cmd: 'view', level: 'high' })).toMatchObject({ ok: true, result: { banner: 'RFB 003.008\n' } });
    expect(await ask({ cmd: 'stop', level: 'high' })).toMatchObject({ ok: true, result: { reason: 'stopped by the supervisor' } });
  });

  it('attack: a path in the request, a bwrap level, a TCP level, a level the policy does not name — refused', async () => {
    expect(await ask({ cmd: 'raw', request: { op: 'vnc.connect', level: 'high', socket: secretPath } })).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await ask({ cmd: 'raw', request: { op: 'vnc.connect', level: 'low' } })).toMatchObject({ ok: false, code: 'POLICY_DENIED', error: 'level "low" is not a vnc cage' });
    expect(await ask({ cmd: 'raw', request: { op: 'vnc.connect', level: 'net' } })).toMatchObject({ ok: false, code: 'POLICY_DENIED', error: expect.stringContaining('is not a socket') });
    expect(await ask({ cmd: 'raw', request: { op: 'vnc.connect', level: 'secret' } })).toMatchObject({ ok: false, code: 'POLICY_DENIED', error: 'no level "secret" in the running policy' });
  });

  it('attack: the policy\'s socket swapped for a link to another server\'s after load — a connect by path would reach it; the manager refuses', async () => {
    renameSync(socketPath, join(serverDir, 'moved.sock'));
    symlinkSync(secretPath, socketPath);
    // What the swap gives whoever connects by the path: the other server.
    expect(await greetingAt(socketPath)).toBe('RFB 003.003\n');
    expect(await ask({ cmd: 'raw', request: { op: 'vnc.connect', level: 'high' } })).toMatchObject({ ok: false, code: 'POLICY_DENIED', error: expect.stringContaining('is a symbolic link') });
    expect(await ask({ cmd: 'start', level: 'high', socket: socketPath })).toMatchObject({ ok: false, error: expect.stringContaining('is a symbolic link') });
    // A link on the way (the folder itself swapped) leads elsewhere: refused as well.
    rmSync(socketPath);
    renameSync(serverDir, `${serverDir}-real`);
    const decoy = `${root}/decoy`;
    mkdirSync(decoy, { mode: 0o700 });
    symlinkSync(decoy, serverDir);
    await closeServer(secret);
    secret = await rfbServer(join(decoy, 'vnc.sock'), 'RFB 003.003\n');
    expect(await greetingAt(socketPath)).toBe('RFB 003.003\n');
    expect(await ask({ cmd: 'raw', request: { op: 'vnc.connect', level: 'high' } })).toMatchObject({ ok: false, code: 'POLICY_DENIED', error: expect.stringContaining('leads elsewhere') });
    // Every refusal is the manager's journal's, as the policy's are.
    const refusals = readFileSync(manager.journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; op?: string; reason?: string });
    const reasons = refusals.filter((r) => r.kind === REFUSED_KIND && r.op === 'vnc.connect').map((r) => r.reason);
    expect(reasons).toEqual(expect.arrayContaining(['level "low" is not a vnc cage', expect.stringContaining('is a symbolic link'), expect.stringContaining('leads elsewhere')]));
  });
});
