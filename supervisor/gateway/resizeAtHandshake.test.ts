/**
 * A cage's screen resized while its viewer is still in its handshake (issue #26): the supervisor
 * sizes each cage to its frame (geometry: auto) about when the first viewers connect. TigerVNC's
 * Xvnc, resized after it sent a client ServerInit but before that client's SetEncodings said it
 * takes a desktop size change, closes the connection ("Client does not support desktop resize"):
 * the viewer reconnected a second later with a second ticket. The gateway announces DesktopSize for
 * the viewer with its ClientInit, so no such window is left; the viewer's own SetEncodings replaces
 * that list, and nothing reaches it before it asks for an update.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FocusState } from './focusState';
import { TicketRegistry } from './ticketRegistry';
import { VncGateway } from './vncGateway';
import { openViewerSocket, serveGateway } from '../testing/viewerSocket';

describe('a cage resized during its viewer handshake', () => {
  let dir: string;
  let xvnc: ChildProcess;
  let display = '';
  let server: Server;
  let gateway: VncGateway;
  let port = 0;
  const tickets = new TicketRegistry();
  const focus = new FocusState(['low'], 'low');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cloison-reconnect-10-'));
    const socket = join(dir, 'vnc.sock');
    xvnc = spawn('Xvnc', ['-displayfd', '3', '-rfbunixpath', socket, '-rfbport', '-1', '-SecurityTypes', 'None', '-nolisten', 'tcp', '-geometry', '640x480', '-depth', '24'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    display = await new Promise<string>((resolve, reject) => {
      let out = '';
      xvnc.stdio[3]!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(`:${out.trim()}`);
      });
      xvnc.once('exit', () => reject(new Error('Xvnc ended before it took clients')));
    });
    gateway = new VncGateway({ tickets, focus, endpointOf: () => ({ path: socket }) });
    ({ server, port } = await serveGateway(gateway));
  });

  afterAll(async () => {
    gateway?.close();
    server?.close();
    if (xvnc && xvnc.exitCode === null) {
      xvnc.kill('SIGTERM');
      await new Promise((r) => xvnc.once('exit', r));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const open = () => openViewerSocket(`ws://127.0.0.1:${port}/vnc?level=low&ticket=${tickets.issue('low')}`);

  const resize = (size: string) => {
    const r = spawnSync('xrandr', ['-display', display, '-s', size], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status, r.stderr).toBe(0);
  };

  it('keeps the connection of a viewer that has not yet sent its SetEncodings', async () => {
    const v = await open();
    expect((await v.read(12)).toString()).toBe('RFB 003.008\n');
    v.ws.send(Buffer.from('RFB 003.008\n'));
    const n = (await v.read(1))[0]!;
    await v.read(n);
    v.ws.send(Buffer.from([1]));
    expect((await v.read(4)).readUInt32BE(0)).toBe(0);
    v.ws.send(Buffer.from([1])); // ClientInit, shared
    const init = await v.read(24);
    await v.read(init.readUInt32BE(20));
    expect([init.readUInt16BE(0), init.readUInt16BE(2)]).toEqual([640, 480]);
    let closedCode: number | null = null;
    void v.closed.then((c) => (closedCode = c));
    // The viewer is slow (a loaded machine, noVNC still parsing ServerInit): the cage is resized now.
    resize('800x600');
    await new Promise((r) => setTimeout(r, 500));
    expect(closedCode).toBeNull();
    // Nothing was sent to the viewer before it asked: its own encodings decide what it gets.
    expect(v.buffered()).toBe(0);
    // Its SetEncodings (Raw, DesktopSize, ExtendedDesktopSize), then a full update request.
    const encodings = Buffer.alloc(4 + 12);
    encodings[0] = 2;
    encodings.writeUInt16BE(3, 2);
    [0, -223, -308].forEach((e, i) => encodings.writeInt32BE(e, 4 + 4 * i));
    v.ws.send(Buffer.concat([encodings, Buffer.from([3, 0, 0, 0, 0, 0, 2, 128, 1, 224])]));
    // The new size comes as the update's first rectangle (ExtendedDesktopSize, the viewer's own list).
    const head = await v.read(4 + 12);
    expect(head[0]).toBe(0);
    expect([head.readUInt16BE(8), head.readUInt16BE(10), head.readInt32BE(12)]).toEqual([800, 600, -308]);
    v.ws.close();
    resize('640x480');
  });
});
