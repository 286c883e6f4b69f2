/**
 * The scanner runs on the staged copy in a sandbox of its own: it sees the file and only the
 * folders the policy binds for it (its program, its database), read-only, as nobody. A scanner the
 * sandbox cannot run, or that says no, refuses the file with what it said.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { testRoot } from '../testing/testRoots';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanStaged } from './scannerSandbox';
import { readSubordinateIdsFrom } from '../system/subordinateIds';

describe('scanner sandbox', () => {
  const root = testRoot('cloison-scan-');
  chmodSync(root, 0o755);
  const tool = join(root, 'tool');
  const db = join(root, 'db');
  mkdirSync(tool, { mode: 0o755 });
  mkdirSync(db, { mode: 0o755 });
  // A scanner as a site would install it: a program and a signature database, each in its folder.
  writeFileSync(join(tool, 'scan.sh'), '#!/bin/sh\nif grep -qF -f "$DB/signatures" "$1"; then echo "FOUND: $(grep -oF -f "$DB/signatures" "$1" | head -1)"; exit 1; fi\necho OK\n', { mode: 0o755 });
  writeFileSync(join(db, 'signatures'), 'MARQUEUR-DE-TEST\n', { mode: 0o644 });
  const staged = (name: string, content: string) => {
    const dir = testRoot('cloison-staged-');
    writeFileSync(join(dir, name), content, { mode: 0o644 });
    return join(dir, name);
  };
  const scanner = ['/usr/bin/env', `DB=${db}`, '/bin/sh', join(tool, 'scan.sh')];

  it('refuses a file that carries the marker, with what the scanner said, and lets a clean one through', async () => {
    expect(await scanStaged(staged('a.txt', 'du texte MARQUEUR-DE-TEST caché'), scanner, [tool, db])).toEqual({ clean: false, said: 'FOUND: MARQUEUR-DE-TEST' });
    expect(await scanStaged(staged('b.txt', 'du texte ordinaire'), scanner, [tool, db])).toEqual({ clean: true, said: 'OK' });
  });

  it('sees only what the policy binds: without its folders the scanner cannot run, and the file is refused', async () => {
    const verdict = await scanStaged(staged('c.txt', 'du texte ordinaire'), scanner, []);
    expect(verdict.clean).toBe(false);
    expect(verdict.said).toMatch(/can't open|No such file|not found/);
  });

  it("reaches no host listener (a daemon on the host's loopback) unless the policy keeps it the network", async () => {
    const heard: string[] = [];
    const server = createServer((c) => c.on('data', (d: Buffer) => heard.push(d.toString())));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    // A scanner a document took over, telling a host listener what it read.
    const knock = ['/usr/bin/python3', '-c', `import socket, sys\ntry:\n    s = socket.create_connection(('127.0.0.1', ${port}), timeout=3); s.sendall(b'the document'); s.close(); print('sent')\nexcept OSError as e:\n    print('cannot connect: %s' % e.strerror)`];
    try {
      const unshared = await scanStaged(staged('d.txt', 'du texte'), knock, []);
      const kept = await scanStaged(staged('e.txt', 'du texte'), knock, [], undefined, true);
      await new Promise((r) => setTimeout(r, 200));
      expect(unshared.said).toMatch(/^cannot connect/);
      expect(kept.said).toBe('sent');
      expect(heard.join('')).toBe('the document');
    } finally {
      server.close();
    }
  });

  it.skipIf(process.getuid?.() !== 0)("refuses the file, naming the grant, when /etc/subuid's grants hold the scanner's whole uid range", async () => {
    const subuid = join(testRoot('cloison-scan-subuid-'), 'subuid');
    writeFileSync(subuid, 'containers:2147483647:2147483648\n');
    readSubordinateIdsFrom([subuid]);
    try {
      const verdict = await scanStaged(staged('f.txt', 'du texte ordinaire'), scanner, [tool, db]);
      expect(verdict).toEqual({ clean: false, said: expect.stringContaining(`no uid of its own is left for the file scanner's sandbox: 3902000000-3902999999 is all granted as subordinate ids (${subuid}: containers:2147483647:2147483648)`) });
    } finally {
      readSubordinateIdsFrom(null);
    }
  });
});
