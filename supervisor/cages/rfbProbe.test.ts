/**
 * The RFB probe in two steps (a cage's start no longer waits for its Xvnc's greeting): connected
 * and checked as soon as the server listens, the greeting read on the same connection later —
 * and a server the check refuses is refused before anything is read from it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testRoot } from '../testing/realCage';
import { openRfbProbe, probeRfb, RfbSilentError } from './rfbProbe';

const GREETING = 'RFB 003.008\n';

describe('openRfbProbe', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  /** A Unix socket server that answers each connection after `greetAfterMs` (never when null). */
  async function server(greetAfterMs: number | null): Promise<{ path: string; accepted: Socket[]; greeted: () => boolean }> {
    const path = join(testRoot('cloison-rfbprobe-'), 'vnc.sock');
    const accepted: Socket[] = [];
    let greeted = false;
    const s = createServer((sock) => {
      accepted.push(sock);
      sock.on('error', () => undefined);
      if (greetAfterMs !== null) setTimeout(() => sock.writable && (greeted = sock.write(GREETING) || true), greetAfterMs);
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(path, () => r()));
    return { path, accepted, greeted: () => greeted };
  }

  it('is connected and checked before the server greets; the greeting comes on the same connection', async () => {
    const { path, accepted, greeted } = await server(400);
    let checked = 0;
    const probe = openRfbProbe({ path }, 5000, () => void checked++);
    await probe.connected;
    expect(checked).toBe(1);
    expect(greeted()).toBe(false);
    await expect(probe.greeting).resolves.toBe('RFB 003.008');
    expect(greeted()).toBe(true);
    expect(accepted).toHaveLength(1);
  });

  it('a server that listens and never greets: connected, then the greeting fails at the time limit', async () => {
    const { path } = await server(null);
    const probe = openRfbProbe({ path }, 300);
    await probe.connected;
    await expect(probe.greeting).rejects.toThrow(/no RFB greeting within 300 ms/);
    await expect(probe.greeting).rejects.toBeInstanceOf(RfbSilentError);
  });

  it("someone else's server at the path (the check throws): refused at connection, nothing read, the connection closed", async () => {
    const { path, accepted } = await server(0);
    const refused = new Error('not the cage\'s Xvnc');
    const probe = openRfbProbe({ path }, 3000, () => {
      throw refused;
    });
    await expect(probe.connected).rejects.toBe(refused);
    await expect(probe.greeting).rejects.toBe(refused);
    await new Promise((r) => setTimeout(r, 50));
    expect(accepted[0]?.destroyed || accepted[0]?.readableEnded).toBe(true);
  });

  it('nothing listening: both fail', async () => {
    const path = join(testRoot('cloison-rfbprobe-'), 'none.sock');
    const probe = openRfbProbe({ path }, 1000);
    await expect(probe.connected).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(probeRfb({ path }, 1000)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
