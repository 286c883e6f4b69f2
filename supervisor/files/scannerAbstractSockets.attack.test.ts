/**
 * Attack (attack-8, checked: holds): a scanner taken over by its document knocks on the host's
 * abstract unix sockets — the namespace where an X server listens as @/tmp/.X11-unix/X<n> (a
 * host Xorg, an Xvnc started without -nolisten local) and where D-Bus or systemd's private
 * listeners may sit. Abstract sockets belong to the network namespace, not to the file system: the
 * sandbox's binds do not hide them, only --unshare-net does. So the scanner (no network by
 * default) must reach none; with the policy's `scannerNetwork` (kept for a daemon on TCP) it does,
 * the cost that opt-in states.
 *
 * Here a host process listens on an abstract socket (a stand-in for the host's X server's; Python,
 * as Node's listen pads an abstract name to the whole sun_path) and the stand-in scanner connects
 * to it and sends what it read.
 */
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { scanStaged } from './scannerSandbox';

const NAME = `cloison-attack8-x11-${process.pid}`;
const KNOCK = ['/usr/bin/python3', '-c', `import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(3)
try:
    s.connect('\\0${NAME}'); s.sendall(b'the document'); s.close(); print('sent')
except OSError as e:
    print('cannot connect: %s' % e.strerror)`];

afterAll(() => removeTestRoots());

describe.skipIf(process.platform !== 'linux')("the scanner and the host's abstract unix sockets", () => {
  it('reaches none without the network, and the one it knocks on with scannerNetwork', async () => {
    const heard: string[] = [];
    const server = spawn('/usr/bin/python3', ['-c', `import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind('\\0${NAME}'); s.listen(4); print('listening', flush=True)
while True:
    c, _ = s.accept(); print(c.recv(100).decode(), flush=True); c.close()`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r) => server.stdout!.once('data', () => r()));
    server.stdout!.on('data', (d: Buffer) => heard.push(d.toString().trim()));
    try {
      const dir = testRoot('cloison-sab-');
      chmodSync(dir, 0o755);
      const staged = join(dir, 'report.pdf');
      writeFileSync(staged, '%PDF-1.7 a document that takes the scanner over', { mode: 0o644 });
      const unshared = await scanStaged(staged, KNOCK, []);
      await new Promise((r) => setTimeout(r, 200));
      const heardUnshared = heard.join('');
      const kept = await scanStaged(staged, KNOCK, [], undefined, true);
      await new Promise((r) => setTimeout(r, 200));
      console.log(`no network: ${unshared.said}; scannerNetwork: ${kept.said}`);
      expect(unshared.said).toMatch(/^cannot connect/);
      expect(heardUnshared).toBe('');
      // The control: the same knock is heard when the policy keeps the host's network.
      expect(kept.said).toBe('sent');
      expect(heard.join('')).toBe('the document');
    } finally {
      server.kill('SIGKILL');
    }
  }, 60_000);
});
