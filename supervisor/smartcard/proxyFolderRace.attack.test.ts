/**
 * Attack (attack-2): a card proxy's uid makes root delete a file of root's. A level's pkcs11proxyd
 * parses what a cage (or the cloison part, through card.socket, guard or no guard) sends; one taken
 * over runs code as the level's proxy uid, in the proxy's control group. LevelCardProxy.start()
 * first removes the proxy's folders (`proxy/`, `netplex/`, both chowned to the proxy uid) with
 * root's recursive rmSync — by path, a readdir then an unlink per entry — and only after that
 * removes the previous control group (whose processes it kills). So a process of the proxy uid left
 * from the last run is still alive while root empties a folder it may change: once root has read
 * the list of a subfolder's entries, the attacker swaps the subfolder for a link to a root-only
 * folder, and root's unlinks of the listed names land there.
 *
 * Here the taken-over worker is a real process of the proxy uid put in the proxy's control groups
 * (as a fork of the worker would be). It kills the controller (same uid) so that the next
 * `card.proxy start` — what a compromised part asks at will — runs start() without a stop() first.
 * The victim: a file in a folder only root may enter (0700), named in the attacker's subfolder.
 * The attacker works from inside the folder (its working directory): a folder renamed aside takes
 * it along, and it swaps the subfolder wherever that folder went.
 *
 * Twice: in the control groups (the kill must come first: it never gets to swap), and left out of
 * them, as on a host without control groups or a process of the uid that escaped them (it swaps,
 * and root's removal must still not follow its link).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { smartcardPolicySchema } from '../../shared/smartcardPolicy';
import { CardProxies } from '../cageManager/cardProxyExecutor';
import { cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { SOFTHSM_MODULE, type SoftToken } from '../testing/softToken';
import { FOLDER_SWAP_ATTACKER } from '../testing/folderSwapAttacker';
import { waitFor } from '../testing/waitFor';

const missing = missingForCardTest('card proxy folder race attack', { cages: false, programs: ['setpriv', 'pgrep'] });
const PROXY_UID = 50_000 + (process.pid % 100);


describe.skipIf(missing.length > 0)('a card proxy uid against root\'s removal of its folders at start', () => {
  let root: string;
  let token: SoftToken;
  let attacker: ChildProcess | null = null;

  beforeAll(() => {
    ({ root, token } = cardTestRoot('cloison-pfr-', PROXY_UID));
    writeFileSync(join(root, 'attacker.mjs'), FOLDER_SWAP_ATTACKER, { mode: 0o644 });
  }, 60_000);

  const killAttacker = () => {
    if (attacker?.pid && attacker.exitCode === null && attacker.signalCode === null) {
      try {
        process.kill(attacker.pid, 'SIGKILL');
      } catch {
        /* gone with its control group */
      }
    }
  };
  afterAll(killAttacker);

  it.each([
    { where: 'in the proxy\'s control groups', inGroup: true },
    { where: 'outside the proxy\'s control groups', inGroup: false },
  ])('$where: cannot make root delete a file in a folder only root may enter', async ({ inGroup }) => {
    const victimDir = join(root, inGroup ? 'victim-in' : 'victim-out');
    mkdirSync(victimDir, { mode: 0o700 });
    chmodSync(victimDir, 0o700);
    const precious = join(victimDir, 'precious');
    writeFileSync(precious, 'root only\n', { mode: 0o600 });

    const policy = { smartcard: smartcardPolicySchema.parse({ module: SOFTHSM_MODULE, levels: { high: { objects: ['high-sign'], uid: PROXY_UID } }, environment: { SOFTHSM2_CONF: token.conf } }) } as unknown as Policy;
    const logged: string[] = [];
    const cardDir = join(root, inGroup ? 'card-in' : 'card-out');
    const cards = new CardProxies({ policy: () => policy, dir: cardDir, part: () => null, log: (msg) => logged.push(msg) });
    try {
      await cards.proxy({ op: 'card.proxy', level: 'high', action: 'start' });
      const controller = execFileSync('pgrep', ['-o', '-f', `pkcs11proxyd -fg -conf ${cardDir}/`], { encoding: 'utf8' }).trim();
      const inner = join(cardDir, 'high', 'proxy');

      // The worker's fork: a process of the proxy uid, in the controller's control groups.
      attacker = spawn('setpriv', ['--reuid', String(PROXY_UID), '--regid', String(PROXY_UID), '--clear-groups', '--no-new-privs', '--', process.execPath, join(root, 'attacker.mjs'), victimDir, 'precious', inner, controller], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
      const lines: string[] = [];
      createInterface({ input: attacker.stdout! }).on('line', (line) => lines.push(line));
      const groups = readFileSync(`/proc/${controller}/cgroup`, 'utf8').trim().split('\n').map((line) => line.split(':'));
      await waitFor(() => attacker!.pid !== undefined, 'the attacker to start', 15_000);
      let joined = 0;
      for (const [, controllers, path] of inGroup ? groups : []) {
        if (!path || path === '/') continue;
        const hierarchy = controllers === '' ? 'unified' : controllers!.replace(/^name=/, '');
        const procs = join('/sys/fs/cgroup', hierarchy, path, 'cgroup.procs');
        if (!existsSync(procs)) continue;
        writeFileSync(procs, String(attacker.pid));
        joined++;
      }
      await waitFor(() => lines.includes('ready') || lines.includes('unlucky'), 'the attacker to be ready', 30_000);
      expect(lines).not.toContain('unlucky');
      await waitFor(() => logged.includes('card proxy exited'), 'the controller to be gone', 10_000);

      // The compromised part asks its card proxy again: start() runs without a stop() before it.
      await cards.proxy({ op: 'card.proxy', level: 'high', action: 'start' }).catch(() => undefined);
      await waitFor(() => lines.includes('swapped'), 'the attacker to swap', 5_000).catch(() => undefined);

      expect(existsSync(precious)).toBe(true);
      if (inGroup) {
        // The control: the attacker was in the proxy's control groups, ready; killed with them before it could swap.
        expect(joined).toBeGreaterThan(0);
        expect(lines).toContain('ready');
        await waitFor(() => attacker!.exitCode !== null || attacker!.signalCode !== null, 'the attacker to be killed', 15_000);
        expect(lines).not.toContain('swapped');
      } else {
        // The control: the attacker lived through the start and did swap its subfolder for the link.
        expect(joined).toBe(0);
        expect(lines).toContain('swapped');
      }
    } finally {
      await cards.stopAll();
      killAttacker();
    }
  }, 90_000);
});
