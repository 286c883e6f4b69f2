/**
 * Attack (attack-3): root signals a process group id the card proxy no longer holds. A level's
 * pkcs11proxyd controller is spawned detached: its pid P is its process group's id, and stop()
 * kills the group with kill(-P). When the controller dies on its own — a worker a cage's bytes took
 * over kills it (same uid), as proxyFolderRace.attack.test.ts does — `this.child` stays set, and
 * the next `card.proxy start` (what the part asks at will, or at the card's next use) runs
 * endPreviousRun → stop(), which sends SIGTERM then SIGKILL to -P however long ago P went. Once
 * every process of the old group is gone, Linux gives P to any new process (pid_max is 32768 here),
 * and a process group that another account's process leads with that id — another level's cage,
 * a user's job — is killed by root.
 *
 * Here the worker kills its controller and the rest of its group (same uid); the next process started is given P
 * (the pid counter set, as a proxy uid cycling forks would bring it there) and leads a group of its
 * own as another account; then the card proxy is asked to start again. What must be seen: that
 * process still alive. Seen succeeding: root's start killed it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Policy } from '../../shared/policy';
import { smartcardPolicySchema } from '../../shared/smartcardPolicy';
import { CardProxies } from '../cageManager/cardProxyExecutor';
import { cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { SOFTHSM_MODULE, type SoftToken } from '../testing/softToken';
import { waitFor } from '../testing/waitFor';

const missing = missingForCardTest('card proxy stale process group attack', { cages: false, programs: ['setpriv', 'pgrep'] });
const PROXY_UID = 50_200 + (process.pid % 100);
/** Another account's process: a uid of no one's here (the victim's group leads as it). */
const VICTIM_UID = 50_300 + (process.pid % 100);
const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';

/** A process's process group id (/proc/PID/stat's 5th field). */
function pgidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** Whether `pid` is a live (not zombie) process of `uid` leading its own process group. */
function leadsGroupAs(pid: number, uid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return pgidOf(pid) === pid && !/^State:\s+Z/m.test(status) && status.includes(`\nUid:\t${uid}\t`);
  } catch {
    return false;
  }
}

/**
 * A process of VICTIM_UID leading its own process group whose pid is `pid` (started by a shell,
 * which forks nothing else between setting the pid counter and starting it), or false.
 */
async function victimWithPid(pid: number): Promise<boolean> {
  const script = `echo ${pid - 1} > ${NS_LAST_PID}; setsid setpriv --reuid ${VICTIM_UID} --regid ${VICTIM_UID} --clear-groups -- sleep 300 </dev/null >/dev/null 2>&1 & echo $!`;
  for (let attempt = 0; attempt < 40 && !existsSync(`/proc/${pid}`); attempt++) {
    const started = Number(execFileSync('sh', ['-c', script], { encoding: 'utf8' }).trim());
    if (started === pid) return true;
    process.kill(started, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Whether any process is in process group `pgid`. */
function groupHasProcesses(pgid: number): boolean {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (pgidOf(Number(pid)) === pgid) return true;
    } catch {
      /* gone meanwhile */
    }
  }
  return false;
}

/** The level's proxy without its dead controller (its child: stop() would signal its group's id). */
function forgetController(cards: CardProxies): void {
  const proxy = (cards as unknown as { proxies: Map<string, { proxy: { child: unknown } }> }).proxies.get('high')?.proxy;
  if (proxy) proxy.child = null;
}

describe.skipIf(missing.length > 0 || process.getuid?.() !== 0)("root's card proxy start against a process group id it no longer holds", () => {
  let root: string;
  let token: SoftToken;
  let victim: number | null = null;

  beforeAll(() => {
    ({ root, token } = cardTestRoot('cloison-spg-', PROXY_UID));
  }, 60_000);
  afterAll(() => {
    if (victim !== null && leadsGroupAs(victim, VICTIM_UID)) process.kill(victim, 'SIGKILL');
  });

  it("does not kill another account's process group that took the dead controller's id", async () => {
    const policy = { smartcard: smartcardPolicySchema.parse({ module: SOFTHSM_MODULE, levels: { high: { objects: ['high-sign'], uid: PROXY_UID } }, environment: { SOFTHSM2_CONF: token.conf } }) } as unknown as Policy;
    const logged: string[] = [];
    const cardDir = join(root, 'card');
    const cards = new CardProxies({ policy: () => policy, dir: cardDir, part: () => null, log: (msg) => logged.push(msg) });
    try {
      // Tried again (a start, a kill) when another process of the machine took the id first.
      let controller = 0;
      for (let tries = 0; tries < 5 && victim === null; tries++) {
        await cards.proxy({ op: 'card.proxy', level: 'high', action: 'start' });
        controller = Number(execFileSync('pgrep', ['-o', '-f', `pkcs11proxyd -fg -conf ${cardDir}/`], { encoding: 'utf8' }).trim());
        // The controller leads the proxy's process group: stop() signals -controller.
        expect(pgidOf(controller)).toBe(controller);

        // A worker taken over (the proxy uid) kills its controller and the group's other processes, then itself.
        logged.length = 0;
        execFileSync('setpriv', ['--reuid', String(PROXY_UID), '--regid', String(PROXY_UID), '--clear-groups', '--', 'kill', '-KILL', '--', `-${controller}`]);
        await waitFor(() => logged.includes('card proxy exited'), 'the controller to be gone', 10_000);
        await waitFor(() => !groupHasProcesses(controller), 'the group to be empty', 10_000);

        // The id is free: another account's process takes it and leads a group of its own.
        if (await victimWithPid(controller)) victim = controller;
        // Another process of this machine took it: the proxy forgets its dead controller, so that no
        // start or stop of this test signals that process's group (what this test shows root does).
        else forgetController(cards);
      }
      expect(victim, "a process given the dead controller's pid (other processes kept taking it first)").toBe(controller);
      await waitFor(() => leadsGroupAs(controller, VICTIM_UID), 'the victim to lead its group as its account', 15_000);

      // The card proxy asked to start again (the part, or the card's next use); root's signals to the group seen.
      const kill = process.kill.bind(process);
      const toGroup: string[] = [];
      const spy = vi.spyOn(process, 'kill').mockImplementation((pid: number, signal?: string | number) => {
        if (pid === -controller) toGroup.push(String(signal));
        return kill(pid, signal);
      });
      try {
        await cards.proxy({ op: 'card.proxy', level: 'high', action: 'start' });
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        spy.mockRestore();
      }
      console.log(`root signalled process group ${controller}: ${toGroup.join(', ') || 'nothing'}`);

      // What the victim sees.
      expect(leadsGroupAs(controller, VICTIM_UID), `the process group ${controller} of uid ${VICTIM_UID} was killed by root`).toBe(true);
    } finally {
      if (victim === null) forgetController(cards);
      await cards.stopAll();
    }
  }, 90_000);
});
