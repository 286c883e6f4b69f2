/**
 * The cage manager's socket attacked as a compromised `cloison` part would: from a real process of
 * that account, frames written by hand. Every request the policy does not imply is refused,
 * answered with an error and journaled, and never reaches its executor; a request it implies does.
 * Another local user is refused at the socket file, and by the peer check when the file lets it in.
 */
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { parsePolicy } from '../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { sendFramesAs, type RawFrame } from '../testing/rawFramesAs';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { sendDescriptor } from '../sandbox/descriptorPassing';
import { CageManagerServer, REFUSED_KIND } from './cageManagerServer';
import { CageManagerClient } from './cageManagerClient';
import type { RootRequest } from './requests';

const POLICY = twoLevelPolicy(
  { low: bwrapCage({ uid: 58710, apps: '[{ id: xterm, exec: [xterm], autostart: true }]' }), high: bwrapCage({ uid: 58711, apps: '[{ id: editor, exec: [xedit, -geometry, 640x480] }]' }) },
  'usb: { unknown: ask }\n',
);

let root: string;
let state: string;
let journal: FileAuditJournal;
let cloison: PamTestUser;
let stranger: PamTestUser;
let server: CageManagerServer;
let socketPath: string;
const executed: RootRequest[] = [];

beforeAll(async () => {
  root = testRoot('cloison-cm-');
  chmodSync(root, 0o711);
  state = join(root, 'state');
  mkdirSync(join(state, 'cages', 'low'), { recursive: true });
  cloison = createPamTestUser();
  stranger = createPamTestUser();
  journal = new FileAuditJournal(join(state, 'journal.jsonl'));
  socketPath = join(root, 'manager.sock');
  const executor = async (req: RootRequest) => {
    executed.push(req);
    return { done: req.op };
  };
  server = new CageManagerServer({
    socketPath,
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy: () => parsePolicy(POLICY, 'p.yaml'), stateDir: state, runDir: join(root, 'run'), trainingKeysDir: join(state, 'training'), workstationUser: 'alice' },
    executors: { 'cage.start': executor, 'app.launch': executor, 'home.mount': executor, 'usb.mount': executor, 'state.chown': executor },
  });
  await server.listen();
});

afterAll(async () => {
  await server?.close();
  journal?.close();
  cloison?.remove();
  stranger?.remove();
  rmSync(root, { recursive: true, force: true });
});

function refusals(): Array<Record<string, unknown>> {
  return readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind === REFUSED_KIND);
}

async function ask(request: unknown, who = cloison) {
  const before = executed.length;
  const seen = refusals().length;
  const outcome = await sendFramesAs(who, socketPath, [{ json: { id: 7, request } }]);
  return { outcome, reachedExecutor: executed.length > before, journaled: refusals().slice(seen) };
}

describe('cage manager socket: what the policy implies passes', () => {
  it('starts the low cage as its own uid, launches an app exactly as the policy writes it', async () => {
    const start = await ask({ op: 'cage.start', level: 'low', uid: 58710 });
    expect(start.outcome.replies).toEqual([{ id: 7, ok: true, result: { done: 'cage.start' } }]);
    const launch = await ask({ op: 'app.launch', level: 'high', appId: 'editor', argv: ['xedit', '-geometry', '640x480'] });
    expect(launch.outcome.replies).toEqual([{ id: 7, ok: true, result: { done: 'app.launch' } }]);
    const home = await ask({ op: 'home.mount', level: 'low', image: join(state, 'cages/low/home.img'), target: join(state, 'cages/low/home') });
    expect(home.outcome.replies[0]).toMatchObject({ ok: true });
    expect(start.journaled.concat(launch.journaled, home.journaled)).toEqual([]);
  });

  it('refuses root itself, through the project\'s client: only the cloison user is served', async () => {
    const client = await CageManagerClient.connect(socketPath);
    await expect(client.request({ op: 'cage.stop', level: 'low' })).rejects.toThrow(/closed the connection/);
    client.close();
    expect(refusals().at(-1)).toMatchObject({ op: '(connection)', peerUid: 0 });
  });
});

describe('cage manager socket: attacks by a compromised cloison part', () => {
  const attacks: Array<[string, unknown, RegExp]> = [
    ['a mount outside the state folder', { op: 'home.mount', level: 'low', image: '/etc/shadow', target: '/usr' }, /outside/],
    ['a mount point outside the state folder, the image the level\'s', { op: 'home.mount', level: 'low', image: '<state>/cages/low/home.img', target: '/root' }, /outside/],
    ['a cage as uid 0', { op: 'cage.start', level: 'low', uid: 0 }, /uid 0 is not level low's/],
    ['a cage as the other level\'s uid', { op: 'cage.start', level: 'low', uid: 58711 }, /uid 58711 is not level low's/],
    ['a bwrap argument slipped through a level id', { op: 'cage.start', level: 'high --bind / /', uid: 58711 }, /level id/],
    ['a level the policy does not name', { op: 'cage.start', level: 'secret', uid: 58712 }, /no level "secret"/],
    ['an app\'s argv with more in it', { op: 'app.launch', level: 'low', appId: 'xterm', argv: ['xterm', '-e', 'sh', '-c', 'id'] }, /not the policy's/],
    ['another level\'s app in this level', { op: 'app.launch', level: 'low', appId: 'editor', argv: ['xedit', '-geometry', '640x480'] }, /has no app "editor"/],
    ['a path with ..', { op: 'home.mount', level: 'low', image: '<state>/cages/low/../../../../etc/passwd', target: '<state>/cages/low/home' }, /\.\. segment/],
    ['a chown of a path with ..', { op: 'state.chown', level: 'low', path: '<state>/cages/low/../high/home', uid: 58710 }, /\.\. segment/],
    ['a chown through a symbolic link a cage planted', { op: 'state.chown', level: 'low', path: '<state>/cages/low/link/passwd', uid: 58710 }, /symbolic link/],
    ['a chown to root of something outside', { op: 'state.chown', level: 'low', path: '/etc/passwd', uid: 0 }, /outside/],
    ['a device the policy does not name (the system disk)', { op: 'usb.mount', device: '/dev/vda1', level: 'low', mode: 'read-write', target: '<run>/media/low/key' }, /not a key the policy names/],
    ['a device that is no block device at all', { op: 'usb.probe', device: '/dev/mem' }, /block device/],
    ['a request outside the list', { op: 'shell.exec', argv: ['sh'] }, /not a root request/],
    ['a field the schema does not have', { op: 'cage.start', level: 'low', uid: 58710, bwrapArgs: ['--bind', '/', '/'] }, /not a root request/],
    ['the password of another user than the workstation\'s', { op: 'pam.check', user: 'root', password: 'guess' }, /not the workstation's/],
  ];

  beforeAll(() => symlinkSync('/etc', join(state, 'cages', 'low', 'link')));

  for (const [name, request, reason] of attacks) {
    it(`refuses ${name}, journaled, executor untouched`, async () => {
      const concrete = JSON.parse(JSON.stringify(request).replaceAll('<state>', state).replaceAll('<run>', join(root, 'run')));
      const { outcome, reachedExecutor, journaled } = await ask(concrete);
      expect(outcome.replies).toHaveLength(1);
      const reply = outcome.replies[0] as { ok: boolean; error: { code: string; message: string } };
      expect(reply.ok).toBe(false);
      expect(reply.error.message).toMatch(reason);
      expect(reachedExecutor).toBe(false);
      expect(journaled).toHaveLength(1);
      expect(journaled[0]).toMatchObject({ actor: 'cloison', peerUid: cloison.uid, op: String((concrete as { op: string }).op).slice(0, 64) });
      expect(String(journaled[0]!.reason)).toMatch(reason);
    });
  }

  it('never journals a refused request\'s other fields (a password stays out)', async () => {
    await ask({ op: 'pam.check', user: 'root', password: 'hunter2-secret' });
    expect(readFileSync(journal.path, 'utf8')).not.toContain('hunter2-secret');
  });

  it('closes on a frame announced over the size limit, journaled, without reading it', async () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(1 << 30);
    const seen = refusals().length;
    const outcome = await sendFramesAs(cloison, socketPath, [{ bytes: head.toString('base64') }] as RawFrame[]);
    expect(outcome.closed).toBe(true);
    expect(refusals().slice(seen)).toMatchObject([{ op: '(frame)', reason: expect.stringMatching(/over the 65536-byte limit/) }]);
  });

  it('cannot pass the root part a descriptor (one whose close would block it): refused by the kernel', async () => {
    // A connection made as the cloison user (the peer check admits it), handed back to this test
    // over Node's IPC; the test then sends on it as the part would.
    const child = spawn('setpriv', [`--reuid=${cloison.uid}`, `--regid=${cloison.gid}`, '--clear-groups', '--', process.execPath, '-e', `const s = require('node:net').connect(process.argv[1]); s.on('connect', () => process.send('connected', s, () => process.exit(0)));`, socketPath], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const peer = await new Promise<Socket>((resolve, reject) => {
      child.once('message', (_m, handle) => resolve(handle as Socket));
      child.once('exit', (code) => reject(new Error(`the cloison user's connection did not come (exit ${code})`)));
    });
    peer.on('error', () => undefined);
    const devNull = openSync('/dev/null', 'r');
    let said = 'sent';
    try {
      sendDescriptor((peer as unknown as { _handle: { fd: number } })._handle.fd, devNull);
    } catch (err) {
      said = (err as NodeJS.ErrnoException).code ?? String(err);
    } finally {
      closeSync(devNull);
      peer.destroy();
    }
    expect(said).toBe('EPERM');
  });

  it('closes on bytes that are not JSON', async () => {
    const body = Buffer.from('{not json');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    const outcome = await sendFramesAs(cloison, socketPath, [{ bytes: Buffer.concat([head, body]).toString('base64') }]);
    expect(outcome.closed).toBe(true);
    expect(refusals().at(-1)).toMatchObject({ op: '(frame)', reason: 'frame is not UTF-8 JSON' });
  });
});

describe('cage manager socket: other local users', () => {
  it('another user cannot open the socket file (0600, the cloison user\'s)', async () => {
    const outcome = await sendFramesAs(stranger, socketPath, [{ json: { id: 1, request: { op: 'sleep.inhibit' } } }]);
    expect(outcome.error).toBe('EACCES');
  });

  it('another user let in by a careless mode is refused by the peer check, journaled', async () => {
    chmodSync(socketPath, 0o666);
    try {
      const { outcome, reachedExecutor, journaled } = await ask({ op: 'cage.start', level: 'low', uid: 58710 }, stranger);
      expect(outcome.replies).toEqual([]);
      expect(outcome.closed).toBe(true);
      expect(reachedExecutor).toBe(false);
      expect(journaled).toMatchObject([{ op: '(connection)', actor: `uid:${stranger.uid}`, peerUid: stranger.uid }]);
    } finally {
      chmodSync(socketPath, 0o600);
    }
  });
});
