/**
 * Attack (#29): the card's listing traced by a card proxy. The reader is listed (`pkcs11-tool -T`)
 * as the first level's proxy uid — the uid of a pkcs11proxyd that parses every byte a cage sends,
 * with no seccomp filter, on a kernel without Yama. A process of that uid (a proxy a cage took
 * over) attaches to the listing with ptrace, or reads its memory and environment: it could change
 * the serials the listing prints, and a card pulled out would not end the sessions on it.
 *
 * The listing run as CardPresence runs it, made to wait in the module (its configuration a FIFO
 * nobody writes) so that the attacker, a real process of the proxy uid, has the time to try.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import { findBinary } from '../system/binaries';
import { SOFTHSM_MODULE } from '../testing/softToken';
import { testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import { CardPresence } from './cardPresence';

const missing = ['pkcs11-tool', 'strace', 'setpriv'].filter((b) => !findBinary(b));
const PROXY_UID = 55_800 + (process.pid % 100) * 2;

let root: string;
let presence: CardPresence | null = null;

beforeAll(() => {
  root = testRoot('cloison-listptrace-');
  chmodSync(root, 0o711);
  mkdirSync(join(root, 'tool'), { mode: 0o711 });
  execFileSync('mkfifo', ['-m', '0644', join(root, 'softhsm2.conf')]);
});

afterAll(() => {
  presence?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** The listing's pid: a process of the proxy uid waiting in the module. */
function listingPid(): number | null {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (new RegExp(`^Uid:\\s+${PROXY_UID}\\s`, 'm').test(status) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('-T')) return Number(pid);
    } catch {
      /* gone */
    }
  }
  return null;
}

const asProxy = (argv: string[]) => spawnSync('setpriv', ['--reuid', String(PROXY_UID), '--regid', String(PROXY_UID), '--clear-groups', ...argv], { encoding: 'utf8', timeout: 3000 });

describe("the reader's listing, against a process of the proxy uid", skipWhenMissing(missing), () => {
  it('cannot be traced, nor its memory or environment read, by the proxy uid', async () => {
    presence = new CardPresence({ settings: () => ({ modulePath: SOFTHSM_MODULE, environment: { SOFTHSM2_CONF: join(root, 'softhsm2.conf') }, uid: PROXY_UID }), change: () => undefined, toolDir: join(root, 'tool'), intervalMs: 60_000 });
    presence.start();
    let pid: number | null = null;
    await waitFor(() => (pid = listingPid()) !== null, 'the listing to wait in the module', 10_000);
    const environ = asProxy(['cat', `/proc/${pid}/environ`]);
    const traced = asProxy(['strace', '-e', 'trace=none', '-p', String(pid)]);

    expect(environ.stdout).not.toContain('SOFTHSM2_CONF');
    expect(environ.status).not.toBe(0);
    expect(traced.stderr).toMatch(/Operation not permitted/);
    // The control: the listing is there, root sees it.
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).toContain('SOFTHSM2_CONF');
    // And stopping the watch ends a listing stuck in the module (one was left behind for good).
    presence.stop();
    await waitFor(() => listingPid() === null, 'the stuck listing to end with the watch (not at its 5 s timeout)', 1_000);
  }, 30_000);
});
