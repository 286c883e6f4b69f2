/**
 * The supervisor enforces what the trusted dialog shows, without any renderer: an answer that comes
 * within the arming time is refused and the question stays; while the question waits, the gateway
 * gives no cage a key, even one sent straight to it; once settled, keys flow again.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSelection } from '../clipboard/xSelection';
import type { Supervisor } from '../supervisor';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { KEY_LOGGER_APP, KEYCODE, rawKeyPresses } from '../testing/keyLogger';
import { pressKeys } from '../testing/rfbViewer';
import { answerAfterReading, type RpcClient } from '../testing/rpcClient';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';

const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 58603, apps: `[${KEY_LOGGER_APP}]` }), high: bwrapCage({ uid: 58604, apps: `[${KEY_LOGGER_APP}]` }) });

describe('trusted dialogs, enforced by the supervisor', () => {
  let t: TestSupervisor;
  let sup: Supervisor;
  let shell: RpcClient;
  const home = (level: string) => t.home(level);
  const xs = (level: string) => rawKeyPresses(home(level)).filter((k) => k === KEYCODE.x).length;

  beforeAll(async () => {
    t = await startTestSupervisor(POLICY, { browserShell: true });
    ({ sup, rpc: shell } = t);
    await waitFor(() => existsSync(join(home('low'), 'keylog.txt')) && existsSync(join(home('high'), 'keylog.txt')), 'the key loggers');
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function typeInFront(level: string, count: number): Promise<void> {
    const link = await t.viewer(level);
    pressKeys(link, 0x78, count);
    await new Promise((r) => setTimeout(r, 600));
    link.close();
  }

  it('refuses a hasty answer and keeps the question; gives no cage input while it waits; then both flow again', async () => {
    const selection = await writeSelection((sup.driverOf('low') as unknown as { x11Dir: string }).x11Dir, 'du texte');
    expect((await shell.call('clipboard.copy', { level: 'low' })).ok).toBe(true);
    selection.stop();
    expect((await shell.call('focus.set', { level: 'high' })).ok).toBe(true);
    const asked = shell.next('onConfirmRequest');
    const pasting = shell.call('clipboard.paste', { level: 'high' });
    const request = await asked;

    // A click that lands as the dialog appears: refused by the supervisor, the dialog stays.
    const hasty = await shell.call('confirm.answer', { id: request.id, accept: true });
    expect(hasty).toMatchObject({ ok: false, error: { code: 'WRONG_STATE', message: expect.stringContaining('before 500 ms') } });

    // Keys sent straight to the gateway for the cage in front, while the question waits: none lands.
    const before = xs('high');
    await typeInFront('high', 3);
    expect(xs('high')).toBe(before);

    expect(await answerAfterReading(shell, { id: request.id, accept: true })).toMatchObject({ ok: true });
    expect(await pasting).toMatchObject({ ok: true, result: { outcome: 'pasted' } });
    await typeInFront('high', 2);
    await waitFor(() => xs('high') === before + 2, 'keys after the dialog');
  });
});
