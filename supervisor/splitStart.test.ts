/**
 * The split start for real (#29), as root as the unit and `npm start` (its default) start it: the cage
 * manager (its bundle) starts the supervisor as its `cloison` part. The part runs as `cloison` with
 * no capability, an empty bounding set, NoNewPrivs and the service's filter, keeping only the
 * shell's and administrators' groups the manager names; its "listening" line comes out of the
 * manager's stdout; its shell socket, in its own run folder, is 0660 to the shell's group (the
 * admin socket to the administrators') and answers `session.describe` to a member's shell over the
 * shell's protocol (the levels and the cages' statuses), and refuses another user; SIGHUP to the
 * manager is passed on (the part takes the manager's new text); SIGTERM to the manager ends the manager,
 * the part and whatever ran as the cages' uids. Until the fleet starts cages through the manager
 * (the supervisor's side of the split), the part's cages are reported crashed: what is asserted of
 * them is only that each is reported.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuiltManager, type BuiltManager } from './testing/builtManager';
import { createPamTestUser, createTestGroup, type PamTestUser } from './testing/pamTestUser';
import { rpcClientAs } from './testing/rpcClient';
import { testRoot } from './testing/testRoots';
import { bwrapCage, twoLevelPolicy } from './testing/testPolicy';
import { waitFor } from './testing/waitFor';

const UIDS = { low: 59911, high: 59912 };
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) });

let root: string;
let manager: BuiltManager;
let shellUser: PamTestUser;
let stranger: PamTestUser;
let group: { name: string; gid: number; remove(): void };
let adminGroup: { name: string; gid: number; remove(): void };
let partPid = 0;

const status = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
const field = (text: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)![1]!.trim();
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(status(pid));
const processesOf = (uid: number) => spawnSync('pgrep', ['-u', String(uid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
const partLine = (state: 'listening' | 'ready') => manager.lines.find((l) => l[state] === true && 'rpcSocket' in l);

beforeAll(async () => {
  root = testRoot('cloison-split-');
  chmodSync(root, 0o711); // the part (cloison) reaches its folders beside the manager's
  writeFileSync(join(root, 'p.yaml'), POLICY);
  shellUser = createPamTestUser();
  stranger = createPamTestUser();
  group = createTestGroup([shellUser.user]);
  adminGroup = createTestGroup([]);
  manager = startBuiltManager(['--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--browser-shell', '--port', '0', '--shell-group', group.name, '--admin-group', adminGroup.name, '--log-level', 'warn']);
  await manager.untilLine((l) => l.ready === true && 'rpcSocket' in l, 'the part\'s ready line', 120_000);
  if (!partLine('listening')) throw new Error(`no listening line from the part: ${manager.stderr()}`);
  partPid = Number(/"msg":"cloison part started","pid":(\d+)/.exec(manager.stderr())?.[1]);
}, 90_000);

afterAll(async () => {
  await manager?.stop('SIGKILL');
  group?.remove();
  adminGroup?.remove();
  for (const user of [shellUser, stranger]) user?.remove();
}, 30_000);

describe('the cage manager with the supervisor as its cloison part', () => {
  it('the part runs as cloison: no capability, an empty bounding set, NoNewPrivs 1, Seccomp 2, only the shell\'s and administrators\' groups kept', () => {
    const cloison = Number(spawnSync('id', ['-u', 'cloison'], { encoding: 'utf8' }).stdout.trim());
    const text = status(partPid);
    expect(readFileSync(`/proc/${partPid}/cmdline`, 'utf8')).toContain('out/supervisor/cloisonPart.js');
    expect(field(text, 'Uid').split(/\s+/).map(Number)).toEqual([cloison, cloison, cloison, cloison]);
    expect([field(text, 'CapEff'), field(text, 'CapPrm'), field(text, 'CapBnd'), field(text, 'NoNewPrivs'), field(text, 'Seccomp')]).toEqual(['0000000000000000', '0000000000000000', '0000000000000000', '1', '2']);
    expect(field(text, 'Groups').split(/\s+/).filter(Boolean).map(Number).sort()).toEqual([group.gid, adminGroup.gid].sort());
    expect(field(status(manager.process.pid!), 'Uid').split(/\s+/)[0]).toBe('0');
  });

  it('its listening line is on the manager\'s stdout as the root supervisor prints it, after the manager\'s own', () => {
    expect(manager.lines[0]).toMatchObject({ listening: true, socket: join(root, 'run', 'cage-manager.sock') });
    const said = partLine('listening')!;
    expect(said).toMatchObject({ url: null, origin: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), rpcSocket: join(root, 'run-broker', 'supervisor.sock') });
    expect((said.cages as Array<{ level: string }>).map((c) => c.level)).toEqual(['low', 'high']);
  });

  it('its shell socket is its own, 0660 to the shell\'s group (the admin socket to the administrators\'): a member\'s shell is answered session.describe, another user is refused', async () => {
    const socket = partLine('listening')!.rpcSocket as string;
    const stat = statSync(socket);
    expect([stat.uid, stat.gid, stat.mode & 0o777]).toEqual([Number(field(status(partPid), 'Uid').split(/\s+/)[0]), group.gid, 0o660]);
    const admin = statSync(join(dirname(socket), 'admin.sock'));
    expect([admin.uid, admin.gid, admin.mode & 0o777]).toEqual([stat.uid, adminGroup.gid, 0o660]);
    const shell = await rpcClientAs(socket, shellUser.uid, shellUser.gid);
    const described = await shell.call('session.describe', {});
    shell.close();
    expect(described.ok).toBe(true);
    expect(described.result.levels.map((l: { id: string }) => l.id)).toEqual(['low', 'high']);
    // Each cage's status reported (running once the fleet starts cages through the manager).
    expect(described.result.cages.map((c: { level: string; status: string }) => `${c.level} ${c.status}`)).toEqual(['low running', 'high running']);
    // Another user's connection, as its own process: the socket's mode refuses it.
    const connect = "require('net').connect(process.argv[1]).on('connect',()=>{console.log('connected');process.exit(0)}).on('error',(e)=>{console.log(e.code);process.exit(0)})";
    const other = spawnSync('setpriv', ['--reuid', String(stranger.uid), '--regid', String(stranger.gid), '--init-groups', '--', process.execPath, '-e', connect, socket], { encoding: 'utf8' });
    expect(other.stdout.trim()).toBe('EACCES');
  }, 30_000);

  it('SIGHUP to the manager reaches the part: it reads the policy again, the shell sees the new label', async () => {
    writeFileSync(join(root, 'p.yaml'), POLICY.replace('label: { fr: Bas, en: Low }', 'label: { fr: Bas2, en: Low2 }'));
    manager.process.kill('SIGHUP');
    const journal = join(root, 'state-broker', 'audit.jsonl');
    await waitFor(() => readFileSync(journal, 'utf8').includes('"kind":"policy.reload"'), 'the part\'s policy.reload record', 30_000, 100);
    const record = readFileSync(journal, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.kind === 'policy.reload')!;
    console.log(`the part's reload: ${JSON.stringify(record)}`);
    const shell = await rpcClientAs(partLine('listening')!.rpcSocket as string, shellUser.uid, shellUser.gid);
    const described = await shell.call('session.describe', {});
    shell.close();
    expect(described.result.levels[0].label).toEqual({ fr: 'Bas2', en: 'Low2' });
  }, 60_000);

  it('the cages run as their levels\' uids, started by the manager for the part', () => {
    expect(partLine('ready')?.cages).toEqual([expect.objectContaining({ level: 'low', status: 'running' }), expect.objectContaining({ level: 'high', status: 'running' })]);
    expect(processesOf(UIDS.low).length).toBeGreaterThan(0);
    expect(processesOf(UIDS.high).length).toBeGreaterThan(0);
  });

  it('SIGTERM: the manager ends, its part with it, and nothing runs as the cages\' uids', async () => {
    const code = new Promise<number | null>((r) => manager.process.once('exit', (c) => r(c)));
    manager.process.kill('SIGTERM');
    expect(await code).toBe(0);
    await waitFor(() => !alive(partPid), 'the part gone', 10_000, 100);
    expect([...processesOf(UIDS.low), ...processesOf(UIDS.high)]).toEqual([]);
  }, 90_000);
});
