/**
 * Attack (left over from the name-service change, managerReloadNameService.attack.test.ts): the
 * cage manager's SIGHUP reload listed the recipient keys the policy names with gpg synchronously
 * (recipientKeys.ts, execFileSync, 10 s bound). A gpg that hangs — a keyring agent that never
 * answers, a home on a slow mount — held root's manager up to 10 s a key at each `systemctl
 * reload`: no cage request served, its watchdogs' timers stopped.
 *
 * Here gpg is a stand-in that hangs (a program named gpg first in PATH: findBinary's look-up, as
 * the manager's own PATH would find one); the reload runs as the manager's SIGHUP runs it
 * (onManagerSighup) while a 100 ms timer counts how long the process went without running. What
 * the administrator should see: the key refused after gpg's bound, journaled, the running policy in
 * force all along — and the manager answering meanwhile. A SIGHUP that comes while the key is
 * checked (gpg mended, the file saved again) is read once after it: the last save runs.
 */
import { chmodSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchEventLoopGaps } from '../testing/eventLoopGaps';
import { uidHeld } from '../testing/heldUid';
import { testRoot } from '../testing/testRoots';
import { ManagerPolicyReload, type ManagerReloadAnswer } from './managerPolicyReload';
import { onManagerSighup } from './managerSighup';

const UID = 56_760 + (process.pid % 30);
const rootless = process.getuid?.() !== 0;

const policyNaming = (key: string, colour: string) =>
  `version: 1\nlevels:\n  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "${colour}", cage: { driver: bwrap, uid: ${UID} } }\nfiles:\n  down: { decision: encrypt, recipients: [${key}] }\n`;

/** Written as an administrator's finished save: left alone for longer than settledPolicyText.ts asks. */
function saved(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o644 });
  const past = new Date(Date.now() - 5000);
  utimesSync(file, past, past);
}

/** gpg's colon listing of one usable key (parseKeyListing reads it). */
const LISTING = 'pub:-:255:22:0123456789ABCDEF:1700000000:::-:::scESC:::::ed25519:::0:\nfpr:::::::::00112233445566778899AABBCCDDEEFF01234567:\nuid:-::::1700000000::0::Alice <alice@example.org>::::::::::0:\nsub:-:255:18:FEDCBA9876543210:1700000000::::::e:::::cv25519::\n';

describe.skipIf(rootless || uidHeld(UID))("the manager's SIGHUP reload while gpg hangs", () => {
  const path = process.env.PATH;
  afterEach(() => {
    process.env.PATH = path;
  });

  it('the manager answers all along; the key refused after gpg\'s bound, journaled, the running policy kept; a SIGHUP meanwhile read once after', async () => {
    const root = testRoot('cloison-left9-gpg-');
    const bin = join(root, 'bin');
    mkdirSync(bin);
    chmodSync(root, 0o755);
    const gpg = join(bin, 'gpg');
    writeFileSync(gpg, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 }); // hangs: the reload's bound kills it
    process.env.PATH = `${bin}:${path ?? '/usr/bin:/bin'}`;
    const key = join(root, 'alice.asc');
    writeFileSync(key, 'a public key\n', { mode: 0o644 });
    const file = join(root, 'policy.yaml');
    saved(file, policyNaming(key, '#00aa00'));
    const running = 'version: 1\n';
    const journal: Array<Record<string, unknown>> = [];
    const applied: string[] = [];
    const said: string[] = [];
    const reload = new ManagerPolicyReload({
      file,
      text: running,
      journal: { append: (_kind: string, _who: string, record: Record<string, unknown>) => void journal.push(record) } as never,
      apply: (next) => void applied.push(next.levels[0]!.colour),
      log: (msg) => void said.push(msg),
    });
    const answers: ManagerReloadAnswer[] = [];
    const sighup = () => onManagerSighup({ reload: () => reload.reload('SIGHUP').then((a) => (answers.push(a), a)), partPid: () => null, log: (msg) => void said.push(msg) });

    const gaps = watchEventLoopGaps();
    try {
      const started = Date.now();
      sighup();
      await new Promise((r) => setTimeout(r, 1500));
      // While gpg hangs: the old policy in force. The administrator mends gpg and saves again.
      expect(reload.current().text).toBe(running);
      writeFileSync(gpg, `#!/bin/sh\nprintf '%s' '${LISTING}'\n`, { mode: 0o755 });
      saved(file, policyNaming(key, '#0000aa'));
      sighup();
      for (let waited = 0; answers.length < 2 && waited < 40_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      const tookMs = Date.now() - started;
      const longestGap = gaps.longest();
      console.log(`gpg's reload refused, the next applied after ${tookMs} ms (load ${readFileSync('/proc/loadavg', 'utf8').trim()}); the manager's timers stood still for ${longestGap} ms at most`);
      // The controls: gpg did hang until its bound, and the key was refused as the rule says.
      expect(tookMs, 'gpg hung until its bound').toBeGreaterThanOrEqual(9000);
      expect(answers[0]).toMatchObject({ accepted: false, reason: expect.stringContaining(`files.down.recipients[0]: ${key}`) });
      expect(journal[0]).toMatchObject({ decision: 'refused', asker: 'SIGHUP' });
      // The SIGHUP that came meanwhile: read once after, the file as the last save left it.
      expect(answers[1], JSON.stringify(answers[1])).toMatchObject({ accepted: true });
      expect(applied).toEqual(['#0000aa']);
      expect(journal[1]).toMatchObject({ decision: 'applied', asker: 'SIGHUP' });
      // The attack: root's manager ran nothing else while gpg was asked.
      expect(longestGap, 'ms during which the manager ran nothing else').toBeLessThan(1000);
      // And the administrator reads why.
      expect(answers[0]!.accepted || answers[0]!.reason).toContain(`${key}: gpg did not list the key within 10 s (gpg or its keyring agent hung)`);
    } finally {
      gaps.stop();
    }
  }, 60_000);
});
