/**
 * The root supervisor's Unix sockets that a less-trusted peer may connect to — the shell's RPC and
 * the administrators' socket (listenRestricted), each cage's launcher socket, each level's card
 * socket — as that peer would attack them: a descriptor attached to a byte. Root reads them with a
 * plain read, so the kernel would close what came in root's own thread, and a lingering TCP socket's
 * close blocks it (seen freezing the root part for the attacker's whole hold through a part's
 * channel: sandbox/lingeringDescriptor.test.ts). Each socket now refuses descriptors: the sender's
 * sendmsg fails with EPERM, plain bytes still pass. Before, every send here succeeded.
 */
import { openSync, closeSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipWhen } from '../testing/skipWithReason';
import { LAUNCHER_SOCKET, launcherDir, openLauncherEndpoint } from '../cages/launcherEndpoint';
import { sendDescriptor } from '../sandbox/descriptorPassing';
import { pidNamespaceOf } from '../sandbox/peerCredentials';
import { RecordGuard } from '../smartcard/recordGuard';
import { testRoot } from '../testing/testRoots';
import { refuseDescriptorsOnStdio, refusePassedDescriptors } from './refusePassedDescriptors';
import { probeRfb } from '../cages/rfbProbe';
import { connectPaused } from '../cages/cageVncSocket';
import type { RunningCage } from '../cages/cageDriver';
import { spawn } from 'node:child_process';
import { listenRestricted } from './unixSocketAccess';
import { spawnBwrap } from '../sandbox/bwrapSpawn';

const kernelRefuses = await (() => {
  const probe = createServer();
  const path = join(testRoot('cloison-passrights-probe-'), 'probe.sock');
  return new Promise<boolean>((resolve) => probe.listen(path, () => resolve(refusePassedDescriptors(probe)))).finally(() => probe.close());
})();
const noPassRights = !kernelRefuses && 'this kernel has no SO_PASSRIGHTS (Linux 6.16 and later): descriptors cannot be refused';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Connects as the peer would and attaches /dev/null to one byte: what the kernel says. */
async function passDescriptorTo(path: string): Promise<{ sent: string; plainBytes: boolean }> {
  const peer: Socket = connect(path);
  cleanups.push(() => peer.destroy());
  peer.on('error', () => undefined);
  await new Promise((r) => peer.once('connect', r));
  const fd = (peer as unknown as { _handle: { fd: number } })._handle.fd;
  const devNull = openSync('/dev/null', 'r');
  let sent = 'sent';
  try {
    sendDescriptor(fd, devNull);
  } catch (err) {
    sent = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  } finally {
    closeSync(devNull);
  }
  const plainBytes = await new Promise<boolean>((r) => peer.write('\n', (err) => r(!err)));
  return { sent, plainBytes };
}

describe('a peer passing a descriptor to the supervisor\'s sockets', () => {
  it('the shell\'s and the administrators\' sockets (listenRestricted) refuse it', skipWhen(noPassRights), async () => {
    const path = join(testRoot('cloison-passrights-rpc-'), 'shell.sock');
    const server = await listenRestricted(createServer((s) => s.resume()), path);
    cleanups.push(() => server.close());
    expect(await passDescriptorTo(path)).toEqual({ sent: 'EPERM', plainBytes: true });
  });

  it('a cage\'s launcher socket refuses it', skipWhen(noPassRights), async () => {
    const runFolder = testRoot('cloison-passrights-launcher-');
    const endpoint = await openLauncherEndpoint({ level: 'low', uid: 0, runFolder, pidNamespace: pidNamespaceOf(process.pid)!, pinned: null, firstComer: true });
    cleanups.push(() => endpoint.close());
    expect((await passDescriptorTo(join(launcherDir(runFolder), LAUNCHER_SOCKET))).sent).toBe('EPERM');
  });

  it('a level\'s card socket refuses it', skipWhen(noPassRights), async () => {
    const dir = testRoot('cloison-passrights-card-');
    const proxy = createServer((s) => s.resume());
    await new Promise<void>((r) => proxy.listen(join(dir, 'proxy.sock'), r));
    cleanups.push(() => proxy.close());
    const guard = new RecordGuard({ listen: join(dir, 'cage.sock'), target: join(dir, 'proxy.sock'), refused: () => undefined });
    await guard.start();
    cleanups.push(() => guard.stop());
    expect((await passDescriptorTo(join(dir, 'cage.sock'))).sent).toBe('EPERM');
  });
});

describe('a sandboxed program passing a descriptor on its standard streams', () => {
  // Node's stdio 'pipe's are Unix socketpairs the supervisor reads: what the image converter, OCR,
  // xclip or the file helper write comes that way, and each parses what a cage or a device made.
  it('is refused on each of them (spawnBwrap), and its plain output still comes', { ...skipWhen(noPassRights), timeout: 60_000 }, async () => {
    const attack = `import { openSync } from 'node:fs';
import { sendDescriptor } from ${JSON.stringify(new URL('../sandbox/descriptorPassing.ts', import.meta.url).pathname)};
const devNull = openSync('/dev/null', 'r');
const said = [0, 1, 2].map((fd) => { try { sendDescriptor(fd, devNull); return fd + ':sent'; } catch (err) { return fd + ':' + err.code; } });
process.stdout.write(said.join(' ') + '\\n');`;
    const project = new URL('../..', import.meta.url).pathname;
    const child = spawnBwrap(['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', '--ro-bind', project, project, '--chdir', project, '--', process.execPath, '--import', 'tsx', '--input-type=module', '-e', attack], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((r) => child.on('close', r));
    expect({ code, out: out.trim(), err }).toEqual({ code: 0, out: '0:EPERM 1:EPERM 2:EPERM', err: '' });
  });
});

/** A listener that, on each connection, tries to pass /dev/null back, then writes `greeting`. */
async function hostileListener(path: string, greeting: string): Promise<{ tried: string[] }> {
  const tried: string[] = [];
  const server = createServer((s) => {
    s.on('error', () => undefined);
    s.resume();
    const devNull = openSync('/dev/null', 'r');
    try {
      sendDescriptor((s as unknown as { _handle: { fd: number } })._handle.fd, devNull);
      tried.push('sent');
    } catch (err) {
      tried.push((err as NodeJS.ErrnoException).code ?? (err as Error).message);
    } finally {
      closeSync(devNull);
    }
    s.write(greeting);
  });
  await new Promise<void>((r) => server.listen(path, r));
  cleanups.push(() => server.close());
  return { tried };
}

describe('the supervisor connecting to a peer that may be hostile', () => {
  it('a cage\'s Xvnc (probeRfb) cannot pass a descriptor with its greeting; the greeting still comes', skipWhen(noPassRights), async () => {
    const path = join(testRoot('cloison-passrights-rfb-'), 'X0.sock');
    const xvnc = await hostileListener(path, 'RFB 003.008\n');
    expect(await probeRfb({ path })).toBe('RFB 003.008');
    expect(xvnc.tried).toEqual(['EPERM']);
  });

  it('a cage\'s Xvnc cannot pass one on the socket handed to the gateway; its greeting waits there whole', skipWhen(noPassRights), async () => {
    const path = join(testRoot('cloison-passrights-vnc-'), 'X0.sock');
    const xvnc = await hostileListener(path, 'RFB 003.008\n');
    const socket = await connectPaused({ endpoint: { path } } as unknown as RunningCage, 5000);
    cleanups.push(() => socket.destroy());
    for (const deadline = Date.now() + 5000; xvnc.tried.length === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    expect(xvnc.tried).toEqual(['EPERM']);
    await new Promise((r) => setTimeout(r, 100));
    const greeting = new Promise<string>((r) => socket.once('data', (d: Buffer) => r(d.toString('latin1'))));
    socket.resume();
    expect(await greeting).toBe('RFB 003.008\n');
  });

  it('a socket that is not there fails as Node\'s connect would', async () => {
    await expect(probeRfb({ path: join(testRoot('cloison-passrights-none-'), 'gone.sock') }, 1000)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a level\'s card proxy cannot pass one back to the guard', skipWhen(noPassRights), async () => {
    const dir = testRoot('cloison-passrights-proxy-');
    const proxy = await hostileListener(join(dir, 'proxy.sock'), '');
    const guard = new RecordGuard({ listen: join(dir, 'cage.sock'), target: join(dir, 'proxy.sock'), refused: () => undefined });
    await guard.start();
    cleanups.push(() => guard.stop());
    const cage = connect(join(dir, 'cage.sock'));
    cage.on('error', () => undefined);
    cleanups.push(() => cage.destroy());
    for (const deadline = Date.now() + 5000; proxy.tried.length === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    expect(proxy.tried).toEqual(['EPERM']);
  });

  it('a child root reads (pkcs11proxyd, parec, pkcs11-tool) cannot pass one on its standard streams', { ...skipWhen(noPassRights), timeout: 60_000 }, async () => {
    const attack = `import { openSync } from 'node:fs';
import { sendDescriptor } from ${JSON.stringify(new URL('../sandbox/descriptorPassing.ts', import.meta.url).pathname)};
const devNull = openSync('/dev/null', 'r');
const said = [0, 1, 2].map((fd) => { try { sendDescriptor(fd, devNull); return fd + ':sent'; } catch (err) { return fd + ':' + err.code; } });
process.stdout.write(said.join(' ') + '\\n');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', attack], { stdio: ['pipe', 'pipe', 'pipe'], cwd: new URL('../..', import.meta.url).pathname });
    refuseDescriptorsOnStdio(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.resume();
    await new Promise((r) => child.on('close', r));
    expect(out.trim()).toBe('0:EPERM 1:EPERM 2:EPERM');
  });
});
