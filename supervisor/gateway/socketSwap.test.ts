/**
 * Attack: from inside high, as its user, replace high's VNC socket with a link to low's, then let
 * the shell reconnect. Keys typed into the High frame must reach high or nothing — never low — and
 * the refusal is journaled (docs/design.md, Cages: what the cage owns it can change).
 */
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_LOGGER_APP, KEYCODE, rawKeyPresses } from '../testing/keyLogger';
import { pressKeys } from '../testing/rfbViewer';
import type { Supervisor } from '../supervisor';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { cageShell, innerPidOf } from '../testing/realCage';
import { type RpcClient } from '../testing/rpcClient';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';

const LOW_UID = 59913;
const HIGH_UID = 59914;
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, apps: `[${KEY_LOGGER_APP}]` }), high: bwrapCage({ uid: HIGH_UID, apps: `[${KEY_LOGGER_APP}]` }) });
const X_KEYSYM = 0x78;

describe('a cage that swaps its VNC socket for the other cage\'s', () => {
  let t: TestSupervisor;
  let sup: Supervisor;
  let rpc: RpcClient;
  const homeOf = (level: string) => t.home(level);

  beforeAll(async () => {
    t = await startTestSupervisor(POLICY, { browserShell: true });
    ({ sup, rpc: rpc } = t);
    await waitFor(() => existsSync(join(homeOf('low'), 'keylog.txt')) && existsSync(join(homeOf('high'), 'keylog.txt')), 'both key loggers');
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function typeInto(level: string, count: number): Promise<void> {
    const link = await t.viewer(level);
    try {
      pressKeys(link, X_KEYSYM, count);
      await new Promise((r) => setTimeout(r, 800));
    } finally {
      link.close();
    }
  }

  it('keys typed in the High frame never reach low, and the refusal is journaled', async () => {
    const lowSocket = (sup.driverOf('low') as unknown as { vncSocket: string }).vncSocket;
    const high = cageShell(innerPidOf(sup, 'high'), HIGH_UID);
    const swap = await high(`rm -f /run/cloison/vnc.sock; ln -sf ${lowSocket} /run/cloison/vnc.sock; ls -l /run/cloison/`);
    expect(swap.code).toBe(0); // the attacker's script ran; whether the swap took is what follows

    expect((await rpc.call('focus.set', { level: 'high' })).ok).toBe(true);
    const lowBefore = rawKeyPresses(homeOf('low')).filter((k) => k === KEYCODE.x).length;
    await typeInto('high', 5);
    const lowAfter = rawKeyPresses(homeOf('low')).filter((k) => k === KEYCODE.x).length;
    expect(lowAfter - lowBefore).toBe(0);

    // high still is high: its own socket is where it was, and it takes the keys.
    const highBefore = rawKeyPresses(homeOf('high')).filter((k) => k === KEYCODE.x).length;
    await typeInto('high', 3);
    expect(rawKeyPresses(homeOf('high')).filter((k) => k === KEYCODE.x).length - highBefore).toBe(3);
    const kinds = t.records();
    expect(kinds.filter((r) => r.kind === 'vnc.connect' && r.level === 'high').length).toBeGreaterThanOrEqual(2);
  });

  it('even where the swap took (done here as root), the gateway refuses the other cage\'s server and journals it', async () => {
    const lowSocket = (sup.driverOf('low') as unknown as { vncSocket: string }).vncSocket;
    const highSocket = (sup.driverOf('high') as unknown as { vncSocket: string }).vncSocket;
    rmSync(highSocket);
    symlinkSync(lowSocket, highSocket);
    const lowBefore = rawKeyPresses(homeOf('low')).filter((k) => k === KEYCODE.x).length;
    await typeInto('high', 5);
    expect(rawKeyPresses(homeOf('low')).filter((k) => k === KEYCODE.x).length - lowBefore).toBe(0);
    const records = t.records();
    // Refused at the name (a link is not followed: cageVncSocket.ts), or, where a link were followed, at the peer's check.
    expect(records).toContainEqual(expect.objectContaining({ kind: 'vnc.refused', level: 'high', reason: expect.stringMatching(/is a link|not served by that cage/) }));
  });
});
