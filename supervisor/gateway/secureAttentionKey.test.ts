/**
 * The secure-attention key never reaches a cage in any form a client can send it: plain KeyEvents
 * with the Pause or Break keysym, and QEMU extended key events carrying the Pause scancode — with
 * either keysym, or keysym 0 as noVNC sends for Ctrl+Pause (Break) on a real keyboard. Sent raw to
 * the gateway, as a hostile or buggy viewer would. Witnesses: a real Xvnc cage's X key logger, and
 * a recording VNC endpoint standing for a `vnc` cage (a VM's VNC server types by scancode alone,
 * where Xvnc without RawKeyboard ignores a keysym-0 event).
 */
import { existsSync } from 'node:fs';
import { testRoot } from '../testing/testRoots';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSakRfbKey, sakKey } from '../../shared/keysyms';
import type { Supervisor } from '../supervisor';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { KEY_LOGGER_APP, KEYCODE, rawKeyPresses } from '../testing/keyLogger';
import { handshake, wsLink, type ByteLink } from '../testing/rfbViewer';
import { type RpcClient } from '../testing/rpcClient';
import { bwrapCage, twoLevelPolicy, vncCage } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { acceptRfbViewer, serverInit } from './rfbServerHandshake';

const RECORDER = join(testRoot('cloison-sak-'), 'vnc.sock');
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 58619, apps: `[${KEY_LOGGER_APP}]` }), high: vncCage(RECORDER) });

/** A VNC endpoint that completes the RFB 3.8 handshake (security None), then records what it receives. */
function recordingVncServer(path: string): Promise<{ server: Server; received: () => Buffer }> {
  const chunks: Buffer[] = [];
  const server = createServer((sock) => {
    acceptRfbViewer(sock, serverInit(640, 480, 'rec'), { data: (d) => chunks.push(d) });
    sock.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(path, () => resolve({ server, received: () => Buffer.concat(chunks) })));
}

/** Every key message in a client→server stream after the handshake: [type, keysym, scancode]. */
function keysIn(stream: Buffer): Array<[string, number, number | null]> {
  const out: Array<[string, number, number | null]> = [];
  for (let i = 0; i < stream.length; ) {
    const type = stream[i]!;
    if (type === 2) i += 4 + 4 * stream.readUInt16BE(i + 2);
    else if (type === 4) {
      out.push(['key', stream.readUInt32BE(i + 4), null]);
      i += 8;
    } else if (type === 255) {
      out.push(['qemu', stream.readUInt32BE(i + 4), stream.readUInt32BE(i + 8)]);
      i += 12;
    }
    else if (type === 3) i += 10;
    else break;
  }
  return out;
}
const PAUSE = 0xff13;
const BREAK = 0xff6b;
const PAUSE_SCANCODE = 0xc6; // XT 0xe046, as RFB carries it (0xe0 prefix → high bit: noVNC, QEMU "qnum")
const X = 0x78;
const X_SCANCODE = 0x2d;

function qemuKey(keysym: number, scancode: number, down: boolean): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(255, 0);
  b.writeUInt8(0, 1);
  b.writeUInt16BE(down ? 1 : 0, 2);
  b.writeUInt32BE(keysym, 4);
  b.writeUInt32BE(scancode, 8);
  return b;
}

function plainKey(keysym: number, down: boolean): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(4, 0);
  b.writeUInt8(down ? 1 : 0, 1);
  b.writeUInt32BE(keysym, 4);
  return b;
}

describe('the secure-attention key at the gateway', () => {
  let t: TestSupervisor;
  let sup: Supervisor;
  let rpc: RpcClient;
  let link: ByteLink;
  let recorder: Awaited<ReturnType<typeof recordingVncServer>>;
  const home = () => t.home('low');

  async function viewer(level: string, serverInitBytes: number): Promise<ByteLink> {
    const ticket = await rpc.call('vnc.ticket', { level });
    const l = await wsLink(`ws://127.0.0.1:${sup.browserHost!.port}/vnc?level=${level}&ticket=${ticket.result.ticket}`, false, sup.browserHost!.origin);
    await handshake(l, serverInitBytes);
    // SetEncodings: Raw and the QEMU extended key event pseudo-encoding (-258), as noVNC asks.
    const encodings = Buffer.alloc(12);
    encodings.writeUInt8(2, 0);
    encodings.writeUInt16BE(2, 2);
    encodings.writeInt32BE(0, 4);
    encodings.writeInt32BE(-258, 8);
    l.send(encodings);
    return l;
  }

  const attack = () => [
    plainKey(PAUSE, true), plainKey(PAUSE, false),
    plainKey(BREAK, true), plainKey(BREAK, false),
    qemuKey(PAUSE, PAUSE_SCANCODE, true), qemuKey(PAUSE, PAUSE_SCANCODE, false),
    qemuKey(0, PAUSE_SCANCODE, true), qemuKey(0, PAUSE_SCANCODE, false), // Ctrl+Pause from noVNC
    qemuKey(BREAK, PAUSE_SCANCODE, true), qemuKey(BREAK, PAUSE_SCANCODE, false),
  ];

  beforeAll(async () => {
    recorder = await recordingVncServer(RECORDER);
    t = await startTestSupervisor(POLICY, { browserShell: true });
    ({ sup, rpc: rpc } = t);
    await waitFor(() => existsSync(join(home(), 'keylog.txt')), 'the key logger');
    link = await viewer('low', 24 + 'cloison-low'.length);
  });
  afterAll(async () => {
    link?.close();
    recorder?.server.close();
    await t?.stop();
  });

  it('knows the key by keysym and by scancode', () => {
    const pause = sakKey('Pause');
    expect([isSakRfbKey(pause, PAUSE, null), isSakRfbKey(pause, BREAK, null), isSakRfbKey(pause, 0, PAUSE_SCANCODE), isSakRfbKey(pause, X, X_SCANCODE)]).toEqual([true, true, true, false]);
  });

  it('to a VNC server that types by scancode, passes not one form of it, and an ordinary key after them', async () => {
    await waitFor(() => sup.cages.get('high')!.state.status === 'running', 'the recording endpoint as a cage');
    expect((await rpc.call('focus.set', { level: 'high' })).ok).toBe(true);
    const l = await viewer('high', 27);
    for (const msg of attack()) l.send(msg);
    l.send(qemuKey(X, X_SCANCODE, true));
    await waitFor(() => keysIn(recorder.received()).some(([, keysym]) => keysym === X), 'the control key at the endpoint');
    expect(keysIn(recorder.received())).toEqual([['qemu', X, X_SCANCODE]]);
    l.close();
    expect((await rpc.call('focus.set', { level: 'low' })).ok).toBe(true);
  });

  it('to a real Xvnc cage: Pause never typed, an ordinary key by scancode is', async () => {
    for (const msg of attack()) link.send(msg);
    // Control, after them on the same connection: an ordinary key by scancode arrives.
    link.send(qemuKey(X, X_SCANCODE, true));
    link.send(qemuKey(X, X_SCANCODE, false));
    await waitFor(() => rawKeyPresses(home()).includes(KEYCODE.x), 'the control key');
    expect(rawKeyPresses(home())).not.toContain(KEYCODE.pause);
  });
});
