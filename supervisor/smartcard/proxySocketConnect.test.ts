/**
 * Root's connection to a proxy's socket (proxySocketConnect.ts), against what a process of the
 * proxy uid may put at its name: a link, a hard link to someone else's socket, a socket of the
 * uid's with another listener behind it. Each server here says when it is connected to; only the
 * proxy uid's own listener may be.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, lchownSync, linkSync, mkdirSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinary } from '../system/binaries';
import { testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import { connectToProxySocket } from './proxySocketConnect';

const missing = ['setpriv'].filter((b) => !findBinary(b));
const PROXY_UID = 50_600 + (process.pid % 100);

/** A server of the proxy uid's: one line per connection. */
const PROXY_SERVER = "require('node:net').createServer(() => console.log('connected')).listen(process.argv[1], () => console.log('listening'))";

describe.skipIf(missing.length > 0)('root connecting to a proxy socket', () => {
  let root: string;
  let folder: string;
  const servers: Server[] = [];
  const children: ChildProcess[] = [];

  beforeAll(() => {
    root = testRoot('cloison-psc-');
    chmodSync(root, 0o711);
    folder = join(root, 'proxy');
    mkdirSync(folder, { mode: 0o700 });
    chownSync(folder, PROXY_UID, PROXY_UID);
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  /** A server of root's at `path`; how many connections it accepted. */
  const rootServer = async (path: string) => {
    const seen = { count: 0 };
    const server = createServer((c) => (seen.count++, c.destroy()));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    return seen;
  };

  it('connects to the proxy uid\'s own listener', async () => {
    const path = join(folder, 'own.sock');
    const child = spawn('setpriv', ['--reuid', String(PROXY_UID), '--regid', String(PROXY_UID), '--clear-groups', '--', process.execPath, '-e', PROXY_SERVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
    await waitFor(() => lines.includes('listening'), 'the proxy uid\'s server', 10_000);
    const socket = await connectToProxySocket(path, PROXY_UID);
    await waitFor(() => lines.includes('connected'), 'the connection', 15_000);
    socket.destroy();
  });

  it('refuses a link to a socket of root\'s, unconnected', async () => {
    const target = join(root, 'root-linked.sock');
    const seen = await rootServer(target);
    symlinkSync(target, join(folder, 'link.sock'));
    await expect(connectToProxySocket(join(folder, 'link.sock'), PROXY_UID)).rejects.toThrow(/a link/);
    expect(seen.count).toBe(0);
  });

  it('refuses a hard link to a socket of root\'s (a host without protected_hardlinks), unconnected', async () => {
    const target = join(root, 'root-hard.sock');
    const seen = await rootServer(target);
    linkSync(target, join(folder, 'hard.sock'));
    await expect(connectToProxySocket(join(folder, 'hard.sock'), PROXY_UID)).rejects.toThrow(/socket of uid 0/);
    expect(seen.count).toBe(0);
  });

  it('refuses a socket of the proxy uid\'s whose listener is another uid, before a byte is sent', async () => {
    const path = join(folder, 'given.sock');
    let received = 0;
    const server = createServer((c) => c.on('data', (d: Buffer) => (received += d.length)));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    lchownSync(path, PROXY_UID, PROXY_UID);
    await expect(connectToProxySocket(path, PROXY_UID)).rejects.toThrow(/listener is uid 0/);
    expect(received).toBe(0);
  });
});
