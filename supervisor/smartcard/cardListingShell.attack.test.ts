/**
 * Attack (attack-2): the card's listing forged by a card proxy's uid, through the shell it starts
 * from. CardPresence runs the reader's listing as the first level's proxy uid, from an execute-only
 * copy of pkcs11-tool so that the listing is not dumpable (cardListingPtrace.attack.test.ts). But it
 * gets there through `setpriv … /bin/sh -c 'exec "$0" "$@"' COPY …`: for the moment between the
 * shell's own exec and its exec of the copy, the process is /bin/sh — a file the proxy uid may read,
 * so dumpable — of the proxy uid, and on a kernel without Yama a process of that uid (a proxy a cage
 * took over) may attach to it, and rewrite the path the shell is about to exec. Root then reads the
 * listing of the attacker's program: serials of its choosing, so a card pulled out can be shown
 * still in (its sessions never end) or cards be made to come and go.
 *
 * The attacker is a real process of the proxy uid (listingShellTracer.attackTool.c, built here with
 * gcc); the listing is CardPresence's own, polling a real SoftHSM2 token.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { SOFTHSM_MODULE, type SoftToken } from '../testing/softToken';
import { waitFor } from '../testing/waitFor';
import { CardPresence, type CardChange } from './cardPresence';

const missing = [...missingForCardTest('card listing shell attack', { cages: false, programs: ['setpriv', 'gcc'] }), ...(existsSync('/proc/sys/kernel/yama/ptrace_scope') ? ['a kernel without Yama'] : [])];
const PROXY_UID = 50_400 + (process.pid % 100);
const FORGED = 'FORGED00C10150N';

describe.skipIf(missing.length > 0)('the card listing\'s shell, against a process of the proxy uid', () => {
  let root: string;
  let token: SoftToken;
  let presence: CardPresence | null = null;
  let attacker: ChildProcess | null = null;

  beforeAll(() => {
    ({ root, token } = cardTestRoot('cloison-lsh-', PROXY_UID));
    mkdirSync(join(root, 'tool'), { mode: 0o711 });
    chmodSync(join(root, 'tool'), 0o711);
    // The attacker's listing: one slot, its serial.
    writeFileSync(join(root, 'f'), `#!/bin/sh\nprintf 'Available slots:\\nSlot 0 (0x1): forged\\n  token label        : card\\n  token state:   initialized\\n  serial num         : ${FORGED}\\n'\n`, { mode: 0o755 });
    execFileSync('gcc', ['-O2', '-o', join(root, 'tracer'), fileURLToPath(new URL('./listingShellTracer.attackTool.c', import.meta.url))]);
    chmodSync(join(root, 'tracer'), 0o755);
  }, 60_000);

  afterAll(() => {
    presence?.stop();
    if (attacker?.pid) process.kill(attacker.pid, 'SIGKILL');
  });

  it('cannot make root read a listing of its own', async () => {
    const copy = join(root, 'tool', 'pkcs11-tool');
    const changes: CardChange[] = [];
    presence = new CardPresence({ settings: () => ({ modulePath: SOFTHSM_MODULE, environment: { SOFTHSM2_CONF: token.conf }, uid: PROXY_UID }), change: (c) => changes.push(c), toolDir: join(root, 'tool'), intervalMs: 100 });
    presence.start();
    // The control: the real token is listed first (its serial), the listing itself works here.
    await waitFor(() => changes.length > 0, 'the first listing', 10_000);
    const real = changes[0]!.present;
    expect(real).toHaveLength(1);

    attacker = spawn('setpriv', ['--reuid', String(PROXY_UID), '--regid', String(PROXY_UID), '--clear-groups', '--', join(root, 'tracer'), join(root, 'f'), copy], { stdio: ['ignore', 'pipe', 'inherit'] });
    const said: string[] = [];
    createInterface({ input: attacker.stdout! }).on('line', (line) => said.push(line));
    // The listing runs ten times a second; the attacker has as many tries.
    await waitFor(() => changes.some((c) => c.present.includes(FORGED)), 'root to read a forged listing', 30_000).catch(() => undefined);
    presence.stop();

    // What root concludes: the real card pulled out and another put in, neither of which happened.
    expect(changes.filter((c) => c.present.includes(FORGED))).toEqual([]);
    expect(said.filter((l) => l.startsWith('forged'))).toEqual([]);
  }, 60_000);
});
