/**
 * The VNC gateway in front of a real cage: tickets admit, the RFB filter enforces, bytes flow.
 */
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FocusState } from './focusState';
import { startRealCage, type RealCage } from '../testing/realCage';
import { TicketRegistry } from './ticketRegistry';
import { VncGateway } from './vncGateway';
import { openViewerSocket, serveGateway } from '../testing/viewerSocket';

describe('VNC gateway (real cage)', () => {
  let cage: RealCage;
  let server: Server;
  let gateway: VncGateway;
  let port = 0;
  const tickets = new TicketRegistry();
  const focus = new FocusState(['low', 'high'], 'low');

  beforeAll(async () => {
    cage = await startRealCage({ level: 'low', geometry: '640x480' });
    gateway = new VncGateway({ tickets, focus, endpointOf: (level) => (level === 'low' ? cage.cage.endpoint : null) });
    ({ server, port } = await serveGateway(gateway));
  });

  afterAll(async () => {
    gateway?.close();
    server?.close();
    await cage?.stop();
  });

  /** Opens a viewer connection; resolves with the socket and a reader of the cage's bytes. */
  const open = (query: string) => openViewerSocket(`ws://127.0.0.1:${port}/vnc?${query}`);

  /** Handshake up to ServerInit; returns the framebuffer size the cage announced. */
  async function handshake(v: Awaited<ReturnType<typeof open>>): Promise<{ width: number; height: number }> {
    expect((await v.read(12)).toString()).toBe('RFB 003.008\n');
    v.ws.send(Buffer.from('RFB 003.008\n'));
    const n = (await v.read(1))[0]!;
    const types = [...(await v.read(n))];
    expect(types).toEqual([1]); // -SecurityTypes None only
    v.ws.send(Buffer.from([1]));
    expect((await v.read(4)).readUInt32BE(0)).toBe(0); // SecurityResult OK
    v.ws.send(Buffer.from([1])); // ClientInit, shared
    const init = await v.read(24);
    await v.read(init.readUInt32BE(20)); // desktop name: read, never trusted
    return { width: init.readUInt16BE(0), height: init.readUInt16BE(2) };
  }

  it('refuses a connection without a ticket, before any byte reaches the cage', async () => {
    await expect(open('level=low')).rejects.toThrow('HTTP 403');
    await expect(open('level=low&ticket=made-up')).rejects.toThrow('HTTP 403');
  });

  it('refuses a ticket issued for another cage, and a used ticket', async () => {
    await expect(open(`level=low&ticket=${tickets.issue('high')}`)).rejects.toThrow('HTTP 403');
    const t = tickets.issue('low');
    const v = await open(`level=low&ticket=${t}`);
    v.ws.close();
    await expect(open(`level=low&ticket=${t}`)).rejects.toThrow('HTTP 403');
  });

  it('refuses a cage that is not running', async () => {
    await expect(open(`level=high&ticket=${tickets.issue('high')}`)).rejects.toThrow('HTTP 503');
  });

  it('carries a full RFB session to the real Xvnc', async () => {
    const v = await open(`level=low&ticket=${tickets.issue('low')}`);
    expect(await handshake(v)).toEqual({ width: 640, height: 480 });
    // FramebufferUpdateRequest (full): the cage answers with a FramebufferUpdate (type 0).
    v.ws.send(Buffer.from([3, 0, 0, 0, 0, 0, 2, 128, 1, 224]));
    expect((await v.read(1))[0]).toBe(0);
    v.ws.close();
  });

  it('drops ClientCutText and keeps the session open', async () => {
    const v = await open(`level=low&ticket=${tickets.issue('low')}`);
    await handshake(v);
    const before = gateway.dropped.clipboard;
    v.ws.send(Buffer.concat([Buffer.from([6, 0, 0, 0, 0, 0, 0, 4]), Buffer.from('leak'), Buffer.from([3, 0, 0, 0, 0, 0, 0, 16, 0, 16])]));
    expect((await v.read(1))[0]).toBe(0); // the update request after it still went through
    expect(gateway.dropped.clipboard).toBe(before + 1);
    v.ws.close();
  });

  it('drops input for a cage that is not in front', async () => {
    const v = await open(`level=low&ticket=${tickets.issue('low')}`);
    await handshake(v);
    focus.set('high');
    const before = gateway.dropped.notInFront;
    v.ws.send(Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61, 5, 0, 0, 10, 0, 10]));
    await new Promise((r) => setTimeout(r, 100));
    expect(gateway.dropped.notInFront).toBe(before + 2);
    focus.set('low');
    v.ws.close();
  });

  it('counts the key presses it delivers to each cage (modifiers alone aside), never those it drops', async () => {
    const v = await open(`level=low&ticket=${tickets.issue('low')}`);
    await handshake(v);
    const before = gateway.keyPresses('low');
    const key = (keysym: number, down: 0 | 1) => Buffer.from([4, down, 0, 0, keysym >>> 24, (keysym >>> 16) & 255, (keysym >>> 8) & 255, keysym & 255]);
    // Shift + "M", "o", Enter: three keystrokes, five presses with the Shift.
    const update = Buffer.from([3, 0, 0, 0, 0, 0, 0, 16, 0, 16]);
    v.ws.send(Buffer.concat([key(0xffe1, 1), key(0x4d, 1), key(0x4d, 0), key(0xffe1, 0), key(0x6f, 1), key(0x6f, 0), key(0xff0d, 1), key(0xff0d, 0), update]));
    await v.read(1); // the cage answered the request after the keys: they went through the filter
    expect(gateway.keyPresses('low') - before).toBe(3);
    focus.set('high');
    v.ws.send(Buffer.concat([key(0x61, 1), update])); // not in front: dropped, not counted
    await new Promise((r) => setTimeout(r, 200));
    expect(gateway.keyPresses('low') - before).toBe(3);
    expect(gateway.keyPresses('high')).toBe(0);
    focus.set('low');
    v.ws.close();
  });

  it('drops all input while a trusted surface has the keyboard', async () => {
    const v = await open(`level=low&ticket=${tickets.issue('low')}`);
    await handshake(v);
    focus.setSuspended(true);
    const before = gateway.dropped.notInFront;
    v.ws.send(Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61, 5, 0, 0, 10, 0, 10]));
    await new Promise((r) => setTimeout(r, 100));
    expect(gateway.dropped.notInFront).toBe(before + 2);
    focus.setSuspended(false);
    v.ws.close();
  });

  it('closes the connection on an unknown message type', async () => {
    const v = await open(`level=low&ticket=${tickets.issue('low')}`);
    await handshake(v);
    v.ws.send(Buffer.from([99, 0, 0, 0]));
    expect(await v.closed).toBe(1008);
    // The cage itself is unharmed: a new viewer gets in.
    const again = await open(`level=low&ticket=${tickets.issue('low')}`);
    expect(await handshake(again)).toEqual({ width: 640, height: 480 });
    again.ws.close();
  });

  it('refuses text frames', async () => {
    const v = await open(`level=low&ticket=${tickets.issue('low')}`);
    v.ws.send('RFB 003.008\n');
    expect(await v.closed).toBe(1003);
  });
});
