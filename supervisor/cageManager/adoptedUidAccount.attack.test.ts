/**
 * Attack (left from attack review 7): a cage left running whose uid became an account's meanwhile.
 * A cage's uid is asked of the name service at every reading of the policy and at every start
 * (bwrapDriver.ts, cageUidAccounts.ts): an account made since — an administrator's useradd, a
 * directory's new user — keeps that level's cage from starting. But a cage that outlived its
 * manager (a crash, an upgrade) was taken back by the next one (cageAdoption.ts) on its record and
 * the kernel's word alone: the uid was not asked again. So the account's owner and the level's
 * apps, which run its documents, stayed one another's to trace and signal, the account's files the
 * cage's, for as long as the adopted cage ran — what a start refuses, an adoption let through.
 *
 * Here: a real cage left by a manager killed with SIGKILL (orphanCage.ts), an account of its uid
 * made with useradd (a test account, removed after), then the next manager's cage.start of that
 * level. What the administrator and the user should see: the cage not taken back, stopped, the
 * start refused as it would be for a fresh cage ("uid N is the <name> account's"), the reason in
 * the manager's log and journal.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSameProcess, processIdentity } from '../cages/cageRecord';
import { parsePolicy } from '../policy/policyLoader';
import { standInNameServiceIds } from '../system/accounts';
import { findBinary } from '../system/binaries';
import { uidHeld } from '../testing/heldUid';
import { processNamesOf } from '../testing/cageProcesses';
import { startOrphanCageWith, type OrphanCage } from '../testing/orphanCage';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { cageDriverOptions, cageStartExecutor } from './cageStartExecutor';
import { ManagedCages } from './managedCages';

const CAGE_UID = 56_650 + (process.pid % 46);
const NAME = `cltad${randomBytes(4).toString('hex')}`;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
const missing = ['useradd', 'userdel', 'bwrap', 'Xvnc'].filter((b) => !findBinary(b));
const rootless = process.getuid?.() !== 0;

describe.skipIf(missing.length > 0 || rootless || [0, 1, 2, 3].some((n) => uidHeld(CAGE_UID + n)))('a cage left running whose uid became an account meanwhile', () => {
  let made = false;
  let root = '';
  let orphan: OrphanCage | null = null;
  const cages = new ManagedCages();
  afterAll(async () => {
    for (const level of cages.levels()) await cages.cage(level)?.stop();
    await orphan?.cleanUp();
    if (made) execFileSync('userdel', [NAME]);
    if (root) rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('is not taken back by the next manager: stopped, and its start refused as a fresh one would be, said in the log and journal', async () => {
    root = testRoot('cloison-aua-');
    chmodSync(root, 0o711);
    const folders = { stateDir: join(root, 'state'), runDir: join(root, 'run') };
    // The policy read (and its uids checked) while nobody held them: the running policy of both managers.
    const running = parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: CAGE_UID, limits: SMALL }), high: bwrapCage({ uid: CAGE_UID + 1, limits: SMALL }) }), 'p.yaml');
    orphan = await startOrphanCageWith(cageDriverOptions(running, folders, 'low'), root);
    const sandbox = processIdentity(orphan.innerPid)!;
    expect(isSameProcess(sandbox)).toBe(true);
    // The manager is gone; meanwhile the uid is given to an account.
    execFileSync('useradd', ['--uid', String(CAGE_UID), '--no-create-home', '--no-user-group', '--shell', '/usr/sbin/nologin', NAME]);
    made = true;

    const said: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
    const journal: Array<{ kind: string; fields: Record<string, string> }> = [];
    const start = cageStartExecutor({
      policy: () => running,
      ...folders,
      cages,
      extras: () => ({ log: (msg, fields) => void said.push({ msg, ...(fields ? { fields } : {}) }) }),
      journal: (kind, fields) => void journal.push({ kind, fields }),
    });
    const answer = await start({ op: 'cage.start', level: 'low', uid: CAGE_UID }).then(
      (a) => `taken: ${JSON.stringify(a)}`,
      (err: Error) => err.message,
    );
    console.log(`the next manager's cage.start: ${answer}; journal ${JSON.stringify(journal)}`);
    const whose = `uid ${CAGE_UID} is the ${NAME} account's`;
    // Refused as a start is: the account named.
    expect(answer).toMatch(new RegExp(`^the cage of "low" cannot start: ${whose}`));
    // The cage left running is stopped, none runs in its place.
    await waitFor(() => !isSameProcess(sandbox), 'the cage left running to end', 15_000);
    expect(cages.cage('low') ?? null).toBeNull();
    expect(processNamesOf(CAGE_UID)).toEqual([]);
    // Said: in the log and in the manager's journal, with the account.
    expect(said).toContainEqual({ msg: 'cage not re-adopted', fields: { level: 'low', reason: expect.stringContaining(whose) } });
    expect(journal).toContainEqual({ kind: 'cage.adoption', fields: { level: 'low', decision: 'refused', reason: expect.stringContaining(whose) } });
  }, 120_000);
  it('is kept when the name service cannot tell (a directory down while the manager restarts): the doubt logged and journaled, the work not ended', async () => {
    const root2 = testRoot('cloison-aub-');
    chmodSync(root2, 0o711);
    const folders = { stateDir: join(root2, 'state'), runDir: join(root2, 'run') };
    const running = parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: CAGE_UID + 2, limits: SMALL }), high: bwrapCage({ uid: CAGE_UID + 3, limits: SMALL }) }), 'p.yaml');
    const left = await startOrphanCageWith(cageDriverOptions(running, folders, 'low'), root2);
    const sandbox = processIdentity(left.innerPid)!;
    const bin = mkdtempSync(join(tmpdir(), 'cloison-aub-ns-'));
    writeFileSync(join(bin, 'nameServiceIds'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    const mine = new ManagedCages();
    try {
      standInNameServiceIds(join(bin, 'nameServiceIds'));
      const said: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
      const journal: Array<{ kind: string; fields: Record<string, string> }> = [];
      const start = cageStartExecutor({
        policy: () => running,
        ...folders,
        cages: mine,
        extras: () => ({ log: (msg, fields) => void said.push({ msg, ...(fields ? { fields } : {}) }) }),
        journal: (kind, fields) => void journal.push({ kind, fields }),
      });
      const answer = (await start({ op: 'cage.start', level: 'low', uid: CAGE_UID + 2 })) as { adopted: boolean };
      expect(answer.adopted).toBe(true);
      expect(isSameProcess(sandbox)).toBe(true);
      expect(said).toContainEqual({ msg: 'cage re-adopted without its uid re-checked', fields: expect.objectContaining({ level: 'low', uid: CAGE_UID + 2 }) });
      expect(journal).toContainEqual({ kind: 'cage.adoption', fields: { level: 'low', decision: 'adopted, uid not re-checked', reason: expect.stringContaining('could not tell') } });
    } finally {
      standInNameServiceIds(null);
      for (const level of mine.levels()) await mine.cage(level)?.stop();
      await left.cleanUp();
      rmSync(bin, { recursive: true, force: true });
      rmSync(root2, { recursive: true, force: true });
    }
  }, 120_000);
});
