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
 * (as a fork of the worker would be). It kills the controller (same uid), so that the next start
 * runs start() without a stop() first: in the cage manager, the part's `card.proxy start` (what a
 * compromised part asks at will); in the root supervisor, an administrator's plain reload of the
 * same policy (SmartcardBroker.applyPolicy starts each level that should have its proxy). Where no
 * control group could be made for the proxy, stop() does not reach a worker that left the process
 * group either, and any later start is exposed the same way.
 * The victim: a file in a folder only root may enter (0700), named in the attacker's subfolder.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { smartcardPolicySchema } from '../../shared/smartcardPolicy';
import { CardProxies } from '../cageManager/cardProxyExecutor';
import { SmartcardBroker } from './smartcardBroker';
import { cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { SOFTHSM_MODULE, type SoftToken } from '../testing/softToken';
import { waitFor } from '../testing/waitFor';

const missing = missingForCardTest('card proxy folder race attack', { cages: false, programs: ['setpriv', 'pgrep'] });
const PROXY_UID = 62_900 + (process.pid % 100);

/** The taken-over worker: fills a subfolder, kills its controller, swaps the subfolder once root empties it. */
const ATTACKER = `
import { existsSync, mkdirSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const [inner, victimDir, victimName, controller] = process.argv.slice(2);
const sub = join(inner, 'd');
mkdirSync(sub);
writeFileSync(join(sub, victimName), '');
for (let i = 0; i < 20000; i++) writeFileSync(join(sub, 'f' + i), '');
// Root lists the folder in the same order as we do: the first name's unlink says root has its list.
const order = readdirSync(sub);
if (order.indexOf(victimName) < 100) { console.log('unlucky'); process.exit(3); }
process.kill(Number(controller), 'SIGKILL');
console.log('ready');
while (existsSync(join(sub, order[0]))) {}
renameSync(sub, join(inner, 'moved'));
symlinkSync(victimDir, sub);
console.log('swapped');
setInterval(() => {}, 1000);
`;

describe.skipIf(missing.length > 0)('a card proxy uid against root\'s removal of its folders at start', () => {
  let root: string;
  let token: SoftToken;

  beforeAll(() => {
    ({ root, token } = cardTestRoot('cloison-pfr-', PROXY_UID));
    writeFileSync(join(root, 'attacker.mjs'), ATTACKER, { mode: 0o644 });
  }, 60_000);

  const attackers: ChildProcess[] = [];
  afterAll(() => {
    for (const attacker of attackers) {
      try {
        process.kill(attacker.pid!, 'SIGKILL');
      } catch {
        /* gone with its control group */
      }
    }
  });

  /**
   * The taken-over worker of the proxy whose folders are in `cardDir`: started in the controller's
   * control groups, it fills a subfolder of `proxy/` and kills the controller. `restart` then
   * starts the proxy again; the result: whether the root-only file is still there.
   */
  const attack = async (name: string, cardDir: string, level: string, restart: () => Promise<unknown>) => {
    const victimDir = join(root, `victim-${name}`);
    mkdirSync(victimDir, { mode: 0o700 });
    chmodSync(victimDir, 0o700);
    const precious = join(victimDir, 'precious');
    writeFileSync(precious, 'root only\n', { mode: 0o600 });
    const controller = execFileSync('pgrep', ['-o', '-f', `pkcs11proxyd -fg -conf ${cardDir}/`], { encoding: 'utf8' }).trim();
    const inner = join(cardDir, level, 'proxy');
    const attacker = spawn('setpriv', ['--reuid', String(PROXY_UID), '--regid', String(PROXY_UID), '--clear-groups', '--no-new-privs', '--', process.execPath, join(root, 'attacker.mjs'), inner, victimDir, 'precious', controller], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    attackers.push(attacker);
    const lines: string[] = [];
    createInterface({ input: attacker.stdout! }).on('line', (line) => lines.push(line));
    // The worker's fork: in the controller's control groups, as a fork of a worker is.
    let joined = 0;
    for (const [, controllers, path] of readFileSync(`/proc/${controller}/cgroup`, 'utf8').trim().split('\n').map((line) => line.split(':'))) {
      if (!path || path === '/') continue;
      const procs = join('/sys/fs/cgroup', controllers === '' ? 'unified' : controllers!.replace(/^name=/, ''), path, 'cgroup.procs');
      if (!existsSync(procs)) continue;
      writeFileSync(procs, String(attacker.pid));
      joined++;
    }
    await waitFor(() => lines.includes('ready') || lines.includes('unlucky'), 'the attacker to be ready', 30_000);
    expect(lines).not.toContain('unlucky');
    await waitFor(() => !existsSync(`/proc/${controller}`) || readFileSync(`/proc/${controller}/stat`, 'utf8').includes(') Z'), 'the controller to be gone', 10_000);
    await restart();
    await waitFor(() => lines.includes('swapped'), 'the attacker to swap', 5_000).catch(() => undefined);
    // The control: the attacker was in the proxy's control groups, and it did swap.
    expect(joined).toBeGreaterThan(0);
    expect(lines).toContain('swapped');
    return existsSync(precious);
  };

  const policy = () => smartcardPolicySchema.parse({ module: SOFTHSM_MODULE, levels: { high: { objects: ['high-sign'], uid: PROXY_UID } }, environment: { SOFTHSM2_CONF: token.conf } });

  it('the cage manager\'s proxy, started again by the part (card.proxy start): root deletes no file of a folder only root may enter', async () => {
    const card = policy();
    const cardDir = join(root, 'card-split');
    const cards = new CardProxies({ policy: () => ({ smartcard: card }) as unknown as Policy, dir: cardDir, part: () => null });
    try {
      await cards.proxy({ op: 'card.proxy', level: 'high', action: 'start' });
      // A compromised part asks its card proxy again: start() runs without a stop() before it.
      expect(await attack('split', cardDir, 'high', () => cards.proxy({ op: 'card.proxy', level: 'high', action: 'start' }).catch(() => undefined))).toBe(true);
    } finally {
      await cards.stopAll();
    }
  }, 90_000);

  it('the root supervisor\'s proxy, started again by an administrator\'s reload: root deletes no file of a folder only root may enter', async () => {
    const card = policy();
    const cardDir = join(root, 'card-single');
    const broker = new SmartcardBroker({ policy: { current: () => ({ smartcard: card }) }, dir: cardDir, cageGid: () => 0, record: () => {}, log: () => {} });
    try {
      broker.endpoint('high');
      await broker.start();
      // The same policy read again (`cloison policy reload`, SIGHUP): a level that should have its proxy gets start(), no stop().
      expect(await attack('single', cardDir, 'high', () => broker.policyChanged().catch(() => undefined))).toBe(true);
    } finally {
      await broker.close();
    }
  }, 90_000);
});
