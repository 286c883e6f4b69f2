/**
 * Attack (left over from attack review 7): the cage manager's SIGHUP reload asked the name service
 * synchronously. A reload reads the cages' and card proxies' uids against the name service
 * (ownIds.ts); the manager's own reload (managerPolicyReload.ts) did it with execFileSync, 5 s per
 * database, so a directory that hangs (an LDAP server that takes the connection and never
 * answers) held root's manager 10 s at each `systemctl reload`: no cage request served, its
 * watchdogs' timers stopped. A network attacker who slows the directory freezes the manager each
 * time the administrator reloads.
 *
 * Here the source that hangs is a real NSS module (testing/hangingNameService.ts), in a mount
 * namespace of the test's own; a process there
 * runs the manager's reload on a real SIGHUP (releaseHup, onManagerSighup) while a 100 ms timer
 * counts how long it went without running. What the administrator should see: the reload refused
 * ("cannot tell"), journaled, the running policy still in force — and the manager answering all
 * along.
 *
 * The second part needs no root: a look-up that takes a moment (a stand-in for the name service),
 * and SIGHUPs that come while a reading is checked: none lost, the last save the one in force.
 */
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { standInNameServiceIds } from '../system/accounts';
import { checkoutModule, hangingNameService, hangingNameServiceMissing, timedScript } from '../testing/hangingNameService';
import { uidHeld } from '../testing/heldUid';
import { testRoot } from '../testing/testRoots';
import { ManagerPolicyReload } from './managerPolicyReload';

const UID = 56_600 + (process.pid % 25);
const rootless = process.getuid?.() !== 0;

const policyNaming = (uid: number, colour: string) => `version: 1\nlevels:\n  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "${colour}", cage: { driver: bwrap, uid: ${uid} } }\n`;

/** Written as an administrator's finished save: left alone for longer than settledPolicyText.ts asks. */
function saved(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o644 });
  const past = new Date(Date.now() - 5000);
  utimesSync(file, past, past);
}

describe.skipIf(hangingNameServiceMissing().length > 0 || rootless || uidHeld(UID))("the manager's SIGHUP reload while the directory hangs", () => {
  it('is refused and journaled, the running policy kept, without holding the manager', () => {
    const root = testRoot('cloison-mrh-');
    const nameService = hangingNameService(root);
    const policyFile = join(root, 'policy.yaml');
    saved(policyFile, policyNaming(UID, '#00aa00'));
    const running = policyNaming(UID - 100, '#0000aa');
    const script = join(root, 'manager.mts'); // an ES module: its await at the top level
    writeFileSync(
      script,
      timedScript(
        `import { ManagerPolicyReload } from ${checkoutModule('supervisor/cageManager/managerPolicyReload.ts')};
import { onManagerSighup } from ${checkoutModule('supervisor/cageManager/managerSighup.ts')};
import { releaseHup } from ${checkoutModule('supervisor/cageManager/managerHupHold.ts')};`,
        `const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const journal: Array<Record<string, unknown>> = [];
const said: string[] = [];
let applied = 0;
const reload = new ManagerPolicyReload({ file: ${JSON.stringify(policyFile)}, text: ${JSON.stringify(running)}, journal: { append: (_kind: string, _who: string, record: Record<string, unknown>) => void journal.push(record) } as never, apply: () => void (applied += 1), log: (msg: string) => void said.push(msg) });
releaseHup(() => onManagerSighup({ reload: () => reload.reload('SIGHUP'), partPid: () => null, log: (msg: string) => void said.push(msg) }));
const started = Date.now();
process.kill(process.pid, 'SIGHUP');
await sleep(1500);
const runningWhileChecked = reload.current().text;
for (let waited = 0; journal.length === 0 && waited < 30_000; waited += 100) await sleep(100);
return { journal, said, applied, runningWhileChecked, runningAfter: reload.current().text, tookMs: Date.now() - started };`,
      ),
    );
    const run = nameService.run(script);
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { journal: Array<Record<string, unknown>>; said: string[]; applied: number; runningWhileChecked: string; runningAfter: string; longestGap: number; tookMs: number };
    console.log(`reload refused after ${out.tookMs} ms (load ${readFileSync('/proc/loadavg', 'utf8').trim()}); the manager's timers stood still for ${out.longestGap} ms at most`);
    // The controls: the directory did hang, and the reload was refused as the rule says, journaled and logged.
    expect(out.tookMs, 'the source did hang (the look-up waited for its timeout)').toBeGreaterThanOrEqual(4000);
    expect(out.journal).toEqual([expect.objectContaining({ decision: 'refused', asker: 'SIGHUP', reason: expect.stringMatching(new RegExp(`uid ${UID}: cannot tell`)) })]);
    expect(out.said).toContain('new policy refused; the running policy stays');
    expect(out.applied).toBe(0);
    expect(out.runningWhileChecked).toBe(running);
    expect(out.runningAfter).toBe(running);
    // The attack: root's manager ran nothing else while the directory was asked.
    expect(out.longestGap, 'ms during which the manager ran nothing else').toBeLessThan(1000);
  }, 90_000);
});

describe('SIGHUPs while a reading is checked', () => {
  afterEach(() => standInNameServiceIds(null));

  it('none is lost: the one being checked finishes, then the file is read once more, the last save in force', async () => {
    const root = testRoot('cloison-mrq-');
    // A name service that takes a moment and holds none of the ids.
    const slow = join(root, 'slowNameService');
    writeFileSync(slow, '#!/bin/sh\nsleep 0.4\nshift\nfor id; do echo "$id free"; done\n', { mode: 0o755 });
    standInNameServiceIds(slow);
    const file = join(root, 'policy.yaml');
    const [first, second, third] = ['#110000', '#220000', '#330000'].map((colour) => policyNaming(UID + 25, colour));
    saved(file, first!);
    const applied: string[] = [];
    const reload = new ManagerPolicyReload({ file, text: 'version: 1\n', journal: { append: () => undefined as never }, apply: (next) => void applied.push(next.levels[0]!.colour), log: () => undefined });
    const checked = reload.reload('SIGHUP');
    // Until the reading is wholly checked, the policy in force is the old one.
    expect(reload.current().text).toBe('version: 1\n');
    saved(file, second!);
    const secondHup = reload.reload('SIGHUP');
    saved(file, third!);
    const thirdHup = reload.reload('SIGHUP');
    await expect(checked).resolves.toMatchObject({ accepted: true });
    await expect(secondHup).resolves.toMatchObject({ accepted: true });
    await expect(thirdHup).resolves.toMatchObject({ accepted: true });
    // The first as read when it came; the two that came meanwhile read once, the file as the last left it.
    expect(applied).toEqual(['#110000', '#330000']);
    expect(reload.current().text).toBe(third);
  });
});
