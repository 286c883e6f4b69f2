/**
 * Attack: a cage's own process points root's connection to any Unix socket. A cage's VNC socket
 * folder (`scratch/vnc`) is the cage uid's until its Xvnc has bound there (cageMounts.ts
 * lockSocketFolders); meanwhile the supervisor probes the socket for its greeting (bwrapDriver's
 * waitForVnc) and connects to it (cageVncSocket.ts). A program of the cage uid that runs by then
 * (one its persistent home starts: openbox's autostart) replaces `vnc.sock` with a link to a
 * socket only root may open; root's connect() by path follows it, and the server behind it sees a
 * root peer — a socket-activated service (Accept=yes) is started for it, as root.
 *
 * The victim is a Unix socket in a folder only root may enter; the link is made by a real process
 * of the cage uid.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinary } from '../system/binaries';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import type { RunningCage } from './cageDriver';
import { connectPaused } from './cageVncSocket';
import { probeRfb } from './rfbProbe';

const CAGE_UID = 50_700 + (process.pid % 100);
const missing = [...(process.getuid?.() === 0 ? [] : ['root']), ...['setpriv', 'python3'].filter((p) => !findBinary(p))];

/** The root-only server: one line per connection it accepts. */
const VICTIM = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o600); s.listen(4)
print('listening', flush=True)
while True:
    c, _ = s.accept()
    print('accepted', flush=True)
    c.sendall(b'RFB 003.008\\n')
`;

describe.skipIf(missing.length > 0)('a cage uid against root\'s connection to its VNC socket', () => {
  let root: string;
  let vncDir: string;
  let victim: ChildProcess;
  const lines: string[] = [];

  beforeAll(async () => {
    root = testRoot('cloison-vsl-');
    chmodSync(root, 0o755);
    mkdirSync(join(root, 'secret'), { mode: 0o700 });
    vncDir = join(root, 'vnc');
    mkdirSync(vncDir, { mode: 0o755 });
    chownSync(vncDir, CAGE_UID, CAGE_UID);
    writeFileSync(join(root, 'victim.py'), VICTIM);
    victim = spawn('python3', [join(root, 'victim.py'), join(root, 'secret', 'root-only.sock')], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: victim.stdout! }).on('line', (line) => lines.push(line));
    await waitFor(() => lines.includes('listening'), 'the root-only server', 10_000);
    // The cage's program: its socket's name made a link to root's socket.
    execFileSync('setpriv', ['--reuid', String(CAGE_UID), '--regid', String(CAGE_UID), '--clear-groups', '--', 'ln', '-s', join(root, 'secret', 'root-only.sock'), join(vncDir, 'vnc.sock')]);
  }, 30_000);

  afterAll(() => {
    victim?.kill('SIGKILL');
    removeTestRoots();
  });

  const cage = () => ({ endpoint: { path: join(vncDir, 'vnc.sock') } }) as unknown as RunningCage;

  it('the greeting probe does not reach a socket the link names', async () => {
    await expect(probeRfb({ path: join(vncDir, 'vnc.sock') }, 2000)).rejects.toThrow(/not a socket|link/);
    await new Promise((r) => setTimeout(r, 200));
    expect(lines).not.toContain('accepted');
  });

  it('the connection handed to the gateway does not reach it either', async () => {
    await expect(connectPaused(cage(), 2000)).rejects.toThrow(/not a socket|link/);
    await new Promise((r) => setTimeout(r, 200));
    expect(lines).not.toContain('accepted');
  });

  it('the cage\'s own socket is still connected to (the control)', async () => {
    const own = join(root, 'own.sock');
    const server = spawn('python3', [join(root, 'victim.py'), own], { stdio: ['ignore', 'pipe', 'inherit'] });
    const ownLines: string[] = [];
    createInterface({ input: server.stdout! }).on('line', (line) => ownLines.push(line));
    try {
      await waitFor(() => ownLines.includes('listening'), 'the cage\'s server', 10_000);
      expect(await probeRfb({ path: own }, 2000)).toBe('RFB 003.008');
      const socket = await connectPaused({ endpoint: { path: own } } as unknown as RunningCage, 2000);
      socket.destroy();
      await waitFor(() => ownLines.filter((l) => l === 'accepted').length === 2, 'both connections', 15_000);
    } finally {
      server.kill('SIGKILL');
    }
  });
});
