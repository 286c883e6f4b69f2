/**
 * A cage's VNC connection handed from the root part to a process of another uid (the unprivileged
 * part's place) keeps working: that process speaks RFB with the cage's Xvnc over the very socket the
 * root part connected — the same kernel socket, no relay in between — and the root part keeps no
 * descriptor of it.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peerCredentials } from '../sandbox/peerCredentials';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { startRealCage, type RealCage } from '../testing/realCage';
import { cloisonPart } from './cloisonPart';
import { handOverSocket, HAND_OVER_MESSAGE } from './socketHandOver';

let cage: RealCage;
let cloison: PamTestUser;
let part: ReturnType<typeof cloisonPart>;
const messages: Array<Record<string, unknown>> = [];

function nextMessage(timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const seen = messages.length;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message from the unprivileged part in ${timeoutMs} ms`)), timeoutMs);
    const poll = setInterval(() => {
      if (messages.length > seen) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(messages[seen]!);
      }
    }, 20);
  });
}

/** Which kernel sockets this process holds, as /proc/self/fd shows them. */
function ownSockets(): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const link = readlinkSync(`/proc/self/fd/${fd}`);
      return link.startsWith('socket:') ? [link] : [];
    } catch {
      return [];
    }
  });
}

beforeAll(async () => {
  cage = await startRealCage({ level: 'handover' });
  cloison = createPamTestUser();
  part = cloisonPart({
    command: { callerUrl: import.meta.url, source: '', bundle: '', script: join(__dirname, '../testing/handedSocketReceiver.ts') },
    account: () => cloison,
    message: (m) => messages.push(m),
  });
  await part.start();
}, 60_000);

afterAll(async () => {
  await part?.stop();
  await cage?.stop();
  cloison?.remove();
});

describe('handing a cage\'s VNC socket to the unprivileged part', () => {
  it('works over the very socket the root part connected, from another uid with no capability, under the syscall filter', async () => {
    const socket: Socket = await new Promise((resolve, reject) => {
      const s = connect({ path: cage.driver.vncSocket });
      s.once('connect', () => {
        s.pause(); // not one byte read here: the greeting waits for the child
        resolve(s);
      });
      s.once('error', reject);
    });
    // The root part's check, as the gateway's today: the peer is the cage's uid.
    expect(peerCredentials(socket).uid).toBe(cage.uid);
    const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
    const kernelSocket = readlinkSync(`/proc/self/fd/${fd}`);
    expect(kernelSocket).toMatch(/^socket:\[\d+\]$/);

    const report = nextMessage();
    await handOverSocket(part, { type: HAND_OVER_MESSAGE, level: 'handover', connection: 1 }, socket);
    const got = await report;

    expect(got).toMatchObject({ connection: 1, level: 'handover', banner: 'RFB 003.008\n', uid: cloison.uid, capEff: '0000000000000000', noNewPrivs: 1, seccomp: 2 });
    expect((got.securityTypes as number[]).length).toBeGreaterThan(0);
    // No extra hop: the child's descriptor is the same kernel socket, and the root part has let go of it.
    expect(got.socket).toBe(kernelSocket);
    await new Promise((r) => setTimeout(r, 100));
    expect(ownSockets()).not.toContain(kernelSocket);
  }, 30_000);
});
