/**
 * The file broker in a real `cloison` part (the manager's child, the `cloison` account, restricted),
 * its homes reached through a real CageManagerServer's `files.helper` (remoteCageHomes.ts), with
 * two real bwrap cages started by the manager's own executor: a file the user put in low's outbox
 * is listed, read, written into high's inbox, found there as high's uid's with its very bytes (one
 * of 900 KiB too, streamed in chunks).
 * What a hostile shell asks — a path above the home, a link to /etc/shadow, a folder link — goes
 * nowhere: refused with the helper's reason, nothing copied. A transfer cancelled while read lands
 * nothing, and the next one asks the manager for a channel again. A write larger than the helper may
 * stage is refused with the reason, nothing staged, and the level's channel still serves.
 *
 * Seen before the part checked a write's size, when writes went in one line: the oversize line
 * made the helper close its channel, and the broker could only say "the file helper's channel
 * closed" — and every other act on that level's channel died with it.
 */
import { existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMountPoint } from '../cages/cageMounts';
import { fileBrokerManager, type FileBrokerManager } from '../testing/fileBrokerManager';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';

const LOW_UID = 58554;
const HIGH_UID = 58555;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
/** Up: allowed without a question, at most 1 MiB a file: what a helper serving high may stage. */
const STAGE_BYTES = 1024 * 1024;
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, limits: SMALL }), high: bwrapCage({ uid: HIGH_UID, limits: SMALL }) }, `files:\n  up: { decision: allow, maxFileBytes: ${STAGE_BYTES} }\n`);
const REPORT = 'the quarterly report, from low\n';
/** Several of the part's chunks (256 KiB each), under what high's helper may stage. */
const LONG = Array.from({ length: 9000 }, (_, i) => `line ${i} of a long text, sent in chunks\n`).join('').slice(0, 900 * 1024);

let manager: FileBrokerManager;
const home = (level: string) => manager.home(level);

beforeAll(async () => {
  manager = await fileBrokerManager({ prefix: 'cloison-rch-', policy: POLICY, uids: { low: LOW_UID, high: HIGH_UID } });
  // What the user put in low's outbox, and what a hostile low planted beside it.
  const outbox = join(home('low'), 'Outbox');
  mkdirSync(outbox);
  writeFileSync(join(outbox, 'report.txt'), REPORT);
  writeFileSync(join(outbox, 'long.txt'), LONG);
  symlinkSync('/etc/shadow', join(outbox, 'shadow'));
  symlinkSync('/etc', join(outbox, 'etc'));
  for (const path of [outbox, join(outbox, 'report.txt'), join(outbox, 'long.txt'), join(outbox, 'shadow'), join(outbox, 'etc')]) lchownSync(path, LOW_UID, LOW_UID); // lchown: a chown would follow the links to /etc/shadow and /etc
  // Above low's home: what a path leaving it would reach.
  writeFileSync(join(home('low'), '..', 'x'), 'outside the home\n');
}, 120_000);

afterAll(async () => {
  await manager?.close();
}, 60_000);

async function runPart(): Promise<Array<Record<string, unknown>>> {
  const reports: Array<Record<string, unknown>> = [];
  await manager.runPart(
    join(__dirname, '../testing/remoteFileBrokerPart.ts'),
    {
      managerSocket: manager.socketPath,
      policy: POLICY,
      workDir: manager.partFolder,
      hostile: ['../x', 'Outbox/../../x', '/etc/shadow', 'Outbox/shadow', 'Outbox/etc/shadow'],
      oversize: 2 * STAGE_BYTES,
    },
    { message: (m) => void (m.type === 'report' && reports.push(m)) },
  );
  await manager.stopPart();
  return reports;
}

describe('the file broker in the cloison part, through the cage manager', () => {
  it('lists low\'s outbox, lands a file in high\'s inbox as high\'s; hostile paths and an oversize write go nowhere', async () => {
    expect(isMountPoint(home('low')) && isMountPoint(home('high'))).toBe(true);
    const reports = await runPart();
    console.log(JSON.stringify(reports));
    const step = (name: string) => reports.find((r) => r.step === name) as { result?: unknown; error?: string } | undefined;
    expect(step('whoami')).toMatchObject({ uid: manager.cloison.uid });
    expect(step('clean partials')?.error).toBeUndefined();

    // Listed as the picker shows it; read, then written into high's inbox.
    expect(step('list outbox')?.result).toEqual(
      expect.arrayContaining([
        { path: 'Outbox/report.txt', name: 'report.txt', kind: 'file', size: REPORT.length },
        { path: 'Outbox/shadow', name: 'shadow', kind: 'symlink', size: expect.any(Number) },
      ]),
    );
    expect(step('transfer')?.result).toEqual([
      expect.objectContaining({ path: 'Outbox/report.txt', outcome: 'copied', landedAs: 'report.txt', type: 'text', size: REPORT.length }),
      expect.objectContaining({ path: 'Outbox/long.txt', outcome: 'copied', landedAs: 'long.txt', type: 'text', size: LONG.length }),
    ]);
    expect(readFileSync(join(home('high'), 'Incoming', 'low', 'long.txt'), 'utf8')).toBe(LONG);
    // Cancelled while read: nothing more lands; the level's channel, closed by the cancel, is asked again.
    expect(step('cancelled transfer')?.result).toEqual([expect.objectContaining({ path: 'Outbox/long.txt', outcome: 'cancelled' })]);
    expect(step('transfer after the cancel')?.result).toEqual([expect.objectContaining({ path: 'Outbox/report.txt', outcome: 'copied', landedAs: 'report (1).txt' })]);
    const landed = join(home('high'), 'Incoming', 'low', 'report.txt');
    expect(readFileSync(landed, 'utf8')).toBe(REPORT);
    expect(statSync(landed)).toMatchObject({ uid: HIGH_UID, gid: HIGH_UID });
    expect(readFileSync(join(home('low'), 'Outbox', 'report.txt'), 'utf8')).toBe(REPORT); // the source untouched

    // Each hostile path refused with the helper's reason; nothing of them lands.
    const hostile = step('hostile transfer')?.result as Array<{ path: string; outcome: string; reason: string }>;
    expect(hostile.map((r) => [r.path, r.outcome, r.reason])).toEqual([
      ['../x', 'refused', '".." leaves the home'],
      ['Outbox/../../x', 'refused', '".." leaves the home'],
      ['/etc/shadow', 'refused', 'absolute paths leave the home'],
      ['Outbox/shadow', 'refused', 'Outbox/shadow goes through a symbolic link'],
      ['Outbox/etc/shadow', 'refused', 'Outbox/etc/shadow goes through a symbolic link'],
    ]);
    expect(step('list above the home')?.error).toBe('".." leaves the home');

    // Over what high's helper may stage: refused before anything is sent, with the reason; nothing staged.
    expect(step('oversize write')?.result).toEqual({ staged: false, code: 2, stdout: '', stderr: `${2 * STAGE_BYTES} bytes to write into high, over the ${STAGE_BYTES} bytes a write there may stage` });
    // The channel serves on: the next write lands.
    expect(step('small write after it')?.result).toMatchObject({ staged: true, code: 0, stdout: expect.stringContaining('"name":"small.txt"') });
    expect(readdirSync(join(home('high'), 'Incoming', 'low')).sort()).toEqual(['long.txt', 'report (1).txt', 'report.txt', 'small.txt']);
    expect((step('list after forget')?.result as Array<{ name: string }>).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { path: 'Incoming/low/long.txt', name: 'long.txt', kind: 'file', size: LONG.length },
      { path: 'Incoming/low/report (1).txt', name: 'report (1).txt', kind: 'file', size: REPORT.length },
      { path: 'Incoming/low/report.txt', name: 'report.txt', kind: 'file', size: REPORT.length },
      { path: 'Incoming/low/small.txt', name: 'small.txt', kind: 'file', size: 'still served\n'.length },
    ]);
    expect(statSync(join(home('high'), 'Incoming', 'low', 'small.txt'))).toMatchObject({ uid: HIGH_UID, size: 'still served\n'.length });
    // Nothing landed in low, nothing of /etc/shadow or of the file above the home anywhere in high.
    expect(existsSync(join(home('low'), 'Incoming'))).toBe(false);
    expect(lstatSync(join(home('low'), 'Outbox', 'shadow')).isSymbolicLink()).toBe(true);
  }, 180_000);
});
