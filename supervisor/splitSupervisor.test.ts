/**
 * The supervisor as the `cloison` part (issue #29), for real: root runs a cage manager server with
 * the real executors (managerExecutors.ts) on a policy of two bwrap cages; a process of the test's
 * `cloison` account (cloisonPart.ts, as the manager starts its part) runs the whole supervisor with
 * `manager` set (testing/splitSupervisorPart.ts), its state and run folders its own. Seen from
 * outside, as a user and an attacker would: both cages run as their levels' uids, started by the
 * manager, one Xvnc each; the part runs as cloison with no capability; a viewer through the part's
 * gateway (a ticket asked on the part's shell socket) gets each cage's RFB greeting and a
 * framebuffer update; the shell's app counts are the manager's (app.windows), each cage's limit
 * notices are asked of it (cage.notice, again over a new connection, where a home filled reaches
 * the part's journal as cage.limit), each level's sound is relayed
 * (its FIFOs handed by sound.fifos, the level available in the shell's sound view), and the part's
 * stop has the manager ask each cage's apps to quit (cage.quitApps; the part journals
 * cage.apps.quit); a cage killed is seen crashed and runs again; the part's connection to the
 * manager cut (the server closed, a new one on the same socket holding the same cages) does not
 * start a second cage: the same Xvnc runs on, and the cage's next end is learnt over the new
 * connection; the part killed and started again by its manager finds the same cages (waited for,
 * not started twice). The part's stop stops its cages; the real program (cloisonPartMain.ts, splitStart.test.ts),
 * started the same way, starts them, serves viewers, and stops them on SIGTERM.
 */
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from './audit/auditJournal';
import { bwrapCagePaths } from './cages/bwrapDriver';
import { CageManagerServer, type RootExecutors } from './cageManager/cageManagerServer';
import type { PeerCredentials } from './sandbox/peerCredentials';
import { cloisonPart, type CloisonPartMessage } from './cageManager/cloisonPart';
import { ManagedCages } from './cageManager/managedCages';
import { managerExecutors } from './cageManager/managerExecutors';
import { parsePolicy } from './policy/policyLoader';
import { xvncPidsOf } from './testing/cageProcesses';
import { createPamTestUser, type PamTestUser } from './testing/pamTestUser';
import { testRoot } from './testing/realCage';
import { wsLink } from './testing/rfbViewer';
import { rpcClient, type RpcClient } from './testing/rpcClient';
import { bwrapCage, twoLevelPolicy } from './testing/testPolicy';
import { waitFor } from './testing/waitFor';
import type { SupervisorPartStart } from './testing/supervisorPart';

const LOW_UID = 58637;
const HIGH_UID = 58638;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
// Sound on: each cage has its own sound server, relayed by the part's AudioBroker (no host server here).
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, limits: SMALL }), high: bwrapCage({ uid: HIGH_UID, limits: SMALL }) }, 'audio: { enabled: true, microphone: [] }\n');
const UID_OF: Record<string, number> = { low: LOW_UID, high: HIGH_UID };

let root: string;
let cloison: PamTestUser;
let journal: FileAuditJournal;
let socketPath: string;
let folders: { stateDir: string; runDir: string };
const servers: CageManagerServer[] = [];
const cages = new ManagedCages();
let part: ReturnType<typeof cloisonPart> | null = null;
let rpc: RpcClient | null = null;
const messages: CloisonPartMessage[] = [];
const policy = () => parsePolicy(POLICY, 'p.yaml');

/** The requests the manager served for the part's cages' apps, notices and sound, as `op level`, in order. */
const served: string[] = [];
function recording(executors: RootExecutors): RootExecutors {
  for (const op of ['cage.quitApps', 'app.windows', 'cage.notice', 'sound.fifos'] as const) {
    const run = executors[op] as ((req: { level: string }, peer: PeerCredentials) => Promise<unknown>) | undefined;
    if (run) (executors as Record<string, unknown>)[op] = (req: { level: string }, peer: PeerCredentials) => (served.push(`${op} ${req.level}`), run(req, peer));
  }
  return executors;
}
const servedOf = (op: string, level: string) => served.filter((s) => s === `${op} ${level}`).length;

/** A manager server on the one socket, over the one map of cages (as one manager process). */
async function serveManager(): Promise<CageManagerServer> {
  const { executors } = managerExecutors({ policy, ...folders, trainingKeysDir: join(root, 'training'), workstationUser: null, hostSound: () => null, cages, part: () => part, onSleep: () => undefined });
  const server = new CageManagerServer({ socketPath, peerUid: cloison.uid, peerGid: cloison.gid, journal, authorization: { policy, ...folders, trainingKeysDir: join(root, 'training'), holdsCage: cages.holds, workstationUser: null }, executors: recording(executors) });
  await server.listen();
  servers.push(server);
  return server;
}

const statuses = (level: string) => messages.filter((m) => m.type === 'status' && m.level === level) as Array<CloisonPartMessage & { status: string; restarts: number; innerPid: number | null }>;
const lastStatus = (level: string) => statuses(level).at(-1);
const started = () => messages.findLast((m) => m.type === 'started') as (CloisonPartMessage & { port: number; origin: string; rpcSocket: string; adminSocket: string; pid: number }) | undefined;
/** The shell socket's client of the part that is going away (viewCage makes the next). */
function closeRpc(): void {
  rpc?.close();
  rpc = null;
}
const logged = () => messages.filter((m) => m.type === 'log').map((m) => String(m.msg));
/** The part's journal's facts of a kind (its own state folder). */
const partFacts = (kind: string) =>
  readFileSync(join(root, 'part-state', 'audit.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === kind);
/** A level's home filled by root (a new file, O_EXCL: no link the cage planted is followed): what a cage saving too much does. */
function fillHome(level: string): string {
  const home = bwrapCagePaths(folders.stateDir, folders.runDir, level).home;
  const file = join(home, 'cloison-test-filler');
  const fd = openSync(file, 'wx', 0o600);
  const chunk = Buffer.alloc(1024 * 1024);
  try {
    for (;;) {
      const fs = statfsSync(home);
      if (fs.bavail * fs.bsize < 512 * 1024) break;
      writeSync(fd, chunk, 0, Math.min(chunk.length, fs.bavail * fs.bsize));
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return file;
}

beforeAll(async () => {
  root = testRoot('cloison-split-');
  chmodSync(root, 0o711);
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'manager-audit.jsonl'));
  socketPath = join(root, 'manager.sock');
  folders = { stateDir: join(root, 'state'), runDir: join(root, 'run') };
  // The part's own folders: cloison's, apart from the manager's.
  const partStateDir = join(root, 'part-state');
  const partRunDir = join(root, 'part-run');
  for (const dir of [partStateDir, partRunDir]) {
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, cloison.uid, cloison.gid);
  }
  await serveManager();
  part = cloisonPart({
    command: { callerUrl: import.meta.url, source: '', bundle: '', script: join(__dirname, 'testing/splitSupervisorPart.ts') },
    account: () => cloison,
    start: { managerSocket: socketPath, ...folders, partStateDir, partRunDir, policyText: POLICY, policySource: 'p.yaml', browserShell: true } satisfies SupervisorPartStart,
    message: (m) => messages.push(m),
    restarting: (reason) => messages.push({ type: 'ended', reason }),
    stderr: (line) => process.stderr.write(`${line}\n`),
  });
  await part.start();
  await waitFor(() => !!started() || messages.some((m) => m.type === 'failed' || m.type === 'ended'), 'the part\'s supervisor started', 120_000);
  console.log(JSON.stringify(messages.filter((m) => m.type !== 'log')));
  console.log(logged().join('\n'));
}, 180_000);

afterAll(async () => {
  rpc?.close();
  await part?.stop();
  for (const level of cages.levels()) await cages.cage(level)?.stop().catch(() => undefined);
  for (const server of servers) await server.close();
  journal?.close();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
}, 90_000);

/** A viewer through the part's gateway: its RFB greeting, the handshake, then one framebuffer update's header. */
async function viewCage(level: string): Promise<{ greeting: string; update: number; rects: number }> {
  const s = started()!;
  rpc ??= await rpcClient(s.rpcSocket);
  const ticket = await rpc.call('vnc.ticket', { level });
  expect(ticket, `a ticket for ${level}`).toMatchObject({ ok: true });
  const link = await wsLink(`ws://127.0.0.1:${s.port}/vnc?level=${level}&ticket=${ticket.result.ticket}`, true, s.origin).catch((err: Error) => {
    throw new Error(`${err.message}; the part's log: ${messages.filter((m) => m.type === 'log').slice(-8).map((m) => JSON.stringify(m)).join('\n')}`);
  });
  // A viewer the gateway closes says why instead of waiting for bytes that will not come.
  const closed = link.closed.then(({ code, reason }) => {
    throw new Error(`the gateway closed ${level}'s viewer: ${code} ${reason}; the part's log: ${logged().slice(-6).join(' | ')}`);
  });
  closed.catch(() => undefined);
  const read = (n: number) => Promise.race([link.read(n), closed]);
  try {
    const greeting = (await read(12)).toString('latin1');
    link.send(Buffer.from('RFB 003.008\n'));
    const types = await read(2);
    link.send(Buffer.from([types[1]!]));
    await read(4); // SecurityResult
    link.send(Buffer.from([1])); // shared
    const init = await read(24);
    const width = init.readUInt16BE(0);
    const height = init.readUInt16BE(2);
    await read(init.readUInt32BE(20)); // the desktop's name
    const request = Buffer.alloc(10);
    request.writeUInt8(3, 0); // FramebufferUpdateRequest, not incremental, the whole screen
    request.writeUInt16BE(width, 6);
    request.writeUInt16BE(height, 8);
    link.send(request);
    const header = await read(4);
    return { greeting, update: header[0]!, rects: header.readUInt16BE(2) };
  } finally {
    link.close();
  }
}

describe('the supervisor as the cloison part', () => {
  it('runs as cloison with no capability; both cages are the manager\'s, running as their levels\' uids', async () => {
    expect(messages.find((m) => m.type === 'failed' || m.type === 'ended')).toBeUndefined();
    const s = started()!;
    const status = readFileSync(`/proc/${s.pid}/status`, 'utf8');
    expect(status).toMatch(new RegExp(`^Uid:\\s+${cloison.uid}\\s+${cloison.uid}\\s+${cloison.uid}\\s+${cloison.uid}$`, 'm'));
    expect(status).toMatch(/^CapEff:\s+0000000000000000$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    await waitFor(() => lastStatus('low')?.status === 'running' && lastStatus('high')?.status === 'running', 'both cages running', 90_000);
    for (const level of ['low', 'high']) {
      expect(cages.state(level)).toBe('running');
      expect(xvncPidsOf(UID_OF[level]!)).toHaveLength(1);
      expect(lastStatus(level)!.innerPid).toBe(cages.innerPidOf(level));
    }
    // Its state is its own (cloison's): the journal and its key; the cages' homes stay the manager's.
    for (const file of ['audit.jsonl', 'journal.key']) expect(statSync(join(root, 'part-state', file)).uid, file).toBe(cloison.uid);
    const journaled = readFileSync(join(root, 'part-state', 'audit.jsonl'), 'utf8');
    expect(journaled).toMatch(/"kind":"cage.running"/);
    expect(existsSync(join(root, 'part-state', 'cages'))).toBe(false);
    expect(statSync(join(folders.stateDir, 'cages', 'low', 'home.img')).uid).toBe(0);
    // Its shell's and admin's sockets in its run folder, its own.
    for (const socket of [s.rpcSocket, s.adminSocket]) expect(statSync(socket).uid).toBe(cloison.uid);
    // The browser host is its child, as cloison too, started with no setpriv (the part has no CAP_SETUID).
    const children = readFileSync(`/proc/${s.pid}/task/${s.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    const host = children.map((pid) => ({ pid, status: readFileSync(`/proc/${pid}/status`, 'utf8'), cmdline: readFileSync(`/proc/${pid}/cmdline`, 'latin1') })).filter((c) => /partMain/.test(c.cmdline));
    expect(host).toHaveLength(1);
    expect(host[0]!.cmdline).not.toMatch(/setpriv/);
    expect(host[0]!.status).toMatch(new RegExp(`^Uid:\\s+${cloison.uid}\\s+${cloison.uid}\\s+${cloison.uid}\\s+${cloison.uid}$`, 'm'));
    expect(host[0]!.status).toMatch(/^Seccomp:\s+2$/m);
    expect(logged().filter((l) => /USB devices unavailable/.test(l))).toEqual([]);
  }, 120_000);

  it('a viewer through the part\'s gateway receives each cage\'s RFB greeting and a framebuffer update', async () => {
    for (const level of ['low', 'high']) {
      const seen = await viewCage(level);
      console.log(`${level}: ${JSON.stringify(seen)}`);
      expect(seen).toEqual({ greeting: 'RFB 003.008\n', update: 0, rects: expect.any(Number) });
      expect(seen.rects).toBeGreaterThan(0);
    }
  }, 60_000);

  it('the shell\'s app counts are the manager\'s (app.windows), and the part listens for its cages\' limit notices (cage.notice)', async () => {
    const s = started()!;
    rpc ??= await rpcClient(s.rpcSocket);
    const before = { low: servedOf('app.windows', 'low'), high: servedOf('app.windows', 'high') };
    expect(await rpc.call('apps.list', {})).toMatchObject({ ok: true });
    expect({ low: servedOf('app.windows', 'low'), high: servedOf('app.windows', 'high') }).toEqual({ low: before.low + 1, high: before.high + 1 });
    for (const level of ['low', 'high']) expect(servedOf('cage.notice', level), `${level}'s notices asked`).toBeGreaterThan(0);
  }, 30_000);

  it('each cage\'s sound is relayed by the part: its FIFOs handed by the manager (sound.fifos), the level available in the shell\'s sound view', async () => {
    const s = started()!;
    rpc ??= await rpcClient(s.rpcSocket);
    const available = async () => ((await rpc!.call('session.describe', {})) as { result?: { audio?: { levels?: Array<{ level: string; available: boolean }> } } }).result?.audio?.levels?.map((l) => `${l.level} ${l.available}`);
    await waitFor(async () => (await available())?.every((l) => l.endsWith(' true')) === true, 'both levels\' sound available in the part', 30_000);
    expect(await available()).toEqual(['low true', 'high true']);
    for (const level of ['low', 'high']) expect(servedOf('sound.fifos', level), `${level}'s FIFOs handed`).toBeGreaterThan(0);
  }, 60_000);

  it('a cage killed is seen crashed and running again, one cage of the level', async () => {
    const before = statuses('low').length;
    const innerPid = cages.innerPidOf('low')!;
    process.kill(innerPid, 'SIGKILL');
    await waitFor(() => statuses('low').slice(before).some((m) => m.status === 'crashed'), 'the cage seen crashed', 30_000);
    await waitFor(() => lastStatus('low')?.status === 'running' && statuses('low').length > before + 1, 'the cage running again', 60_000);
    expect(lastStatus('low')!.restarts).toBe(1);
    expect(cages.innerPidOf('low')).not.toBe(innerPid);
    // The killed cage's Xvnc may still be on its way out (seen once under load: two for a moment).
    await waitFor(() => xvncPidsOf(LOW_UID).length === 1, "one Xvnc of low's uid", 10_000).catch(() => undefined);
    expect(xvncPidsOf(LOW_UID)).toHaveLength(1);
    expect((await viewCage('low')).greeting).toBe('RFB 003.008\n');
  }, 120_000);

  it('the manager\'s connection cut and back: no second cage; the same cages run on, their next end learnt over the new connection', async () => {
    const xvnc = { low: xvncPidsOf(LOW_UID), high: xvncPidsOf(HIGH_UID) };
    const before = { low: statuses('low').length, high: statuses('high').length };
    const noticesAsked = servedOf('cage.notice', 'high');
    await servers.at(-1)!.close(); // every connection of the part ends; the manager's cages run on
    await serveManager();
    // The part back: a viewer through its gateway works again (cage.vncSocket over its new connection).
    // One asked while it connects again is refused (the shell opens another): asked until one works.
    let seen: Awaited<ReturnType<typeof viewCage>> | null = null;
    await waitFor(async () => (seen = await viewCage('high').catch(() => null)) !== null, 'a viewer of high through the part again', 30_000);
    expect(seen!.greeting).toBe('RFB 003.008\n');
    expect({ low: xvncPidsOf(LOW_UID), high: xvncPidsOf(HIGH_UID) }).toEqual(xvnc);
    expect({ low: statuses('low').length, high: statuses('high').length }).toEqual(before);
    expect(cages.state('low')).toBe('running');
    // The cage found again over the new connection: its notices asked again there, and one reaches the part.
    await waitFor(() => servedOf('cage.notice', 'high') > noticesAsked, 'high\'s notices asked over the new connection', 30_000);
    const filler = fillHome('high');
    try {
      await waitFor(() => partFacts('cage.limit').some((f) => f.level === 'high' && f.limit === 'home'), 'high\'s home-full notice journaled by the part', 30_000);
      expect(String(partFacts('cage.limit').find((f) => f.level === 'high')!.detail)).toMatch(/^home full \(64 MiB\)/);
    } finally {
      rmSync(filler, { force: true });
    }
    // The cage's end reaches the part over the new connection: crashed, then one cage again.
    process.kill(cages.innerPidOf('low')!, 'SIGKILL');
    await waitFor(() => statuses('low').slice(before.low).some((m) => m.status === 'crashed'), 'the end seen over the new connection', 30_000);
    await waitFor(() => lastStatus('low')?.status === 'running' && statuses('low').length > before.low + 1, 'the cage running again', 60_000);
    expect(xvncPidsOf(LOW_UID)).toHaveLength(1);
    expect(xvncPidsOf(HIGH_UID)).toEqual(xvnc.high);
  }, 150_000);

  it('the part killed and started again by its manager finds the same cages: waited for, not started twice', async () => {
    const xvnc = { low: xvncPidsOf(LOW_UID), high: xvncPidsOf(HIGH_UID) };
    const first = started()!;
    closeRpc();
    process.kill(first.pid, 'SIGKILL');
    await waitFor(() => started()!.pid !== first.pid || messages.some((m) => m.type === 'failed'), 'the part started again', 120_000);
    expect(messages.find((m) => m.type === 'failed')).toBeUndefined();
    await waitFor(() => lastStatus('low')?.status === 'running' && lastStatus('high')?.status === 'running', 'both cages running for the new part', 60_000);
    expect(logged().filter((l) => /runs the cage already/.test(l))).toHaveLength(2);
    expect({ low: xvncPidsOf(LOW_UID), high: xvncPidsOf(HIGH_UID) }).toEqual(xvnc);
    for (const level of ['low', 'high']) expect((await viewCage(level)).greeting).toBe('RFB 003.008\n');
  }, 180_000);

  it('the part\'s stop stops its cages (the real program, cloisonPartMain.ts, is splitStart.test.ts\'s)', async () => {
    await part!.stop();
    expect(cages.levels()).toEqual([]);
    // Each cage's apps were asked to quit by the manager first, and the part journaled what it found.
    for (const level of ['low', 'high']) expect(servedOf('cage.quitApps', level), `${level}'s apps asked to quit`).toBe(1);
    expect(partFacts('cage.apps.quit').map((f) => f.level).sort()).toEqual(['high', 'low']);
    expect({ low: xvncPidsOf(LOW_UID), high: xvncPidsOf(HIGH_UID) }).toEqual({ low: [], high: [] });
    part = null;
  }, 120_000);
});
