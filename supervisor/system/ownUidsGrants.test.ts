/**
 * The own uids and the subordinate grants of /etc/subuid and /etc/subgid (files of the test's own
 * here): a granted uid is never given, a range all granted refuses saying which grant, a file
 * changed is read again, a file absent grants nothing.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CONVERTER_UIDS, isInRange, ownUidOverlaps, ownUids, SCANNER_UIDS, X_HELPER_UIDS } from './ownUids';
import { parseSubordinateIds, readSubordinateIdsFrom } from './subordinateIds';

const dir = mkdtempSync(join(tmpdir(), 'cloison-subids-'));
const subuid = join(dir, 'subuid');
const subgid = join(dir, 'subgid');
let stamp = 1_700_000_000;
/** Writes a file with a fresh mtime (two writes within a tick would otherwise look the same). */
const write = (file: string, text: string) => {
  writeFileSync(file, text);
  utimesSync(file, ++stamp, ++stamp);
};

afterEach(() => readSubordinateIdsFrom(null));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('own uids and subordinate grants', () => {
  it('reads name:start:count lines, nothing from comments or malformed lines', () => {
    expect(parseSubordinateIds('f', '# c\nalice:100000:65536\nbad\nbob:1:0\n 1000:200000:10 \n').map((g) => [g.start, g.end, g.line])).toEqual([
      [100_000, 165_536, 'alice:100000:65536'],
      [200_000, 200_010, '1000:200000:10'],
    ]);
  });

  it('never gives a uid a subuid or subgid grant holds', () => {
    const { base, size } = X_HELPER_UIDS;
    // All but ten uids of the range, in two grants (one in each file), the free ten between them.
    write(subuid, `alice:${base - 5}:${size / 2 + 5}\n`);
    write(subgid, `bob:${base + size / 2 + 10}:${size}\n`);
    readSubordinateIdsFrom([subuid, subgid]);
    const next = ownUids(X_HELPER_UIDS);
    const given = Array.from({ length: 50 }, next);
    expect(new Set(given)).toEqual(new Set(Array.from({ length: 10 }, (_, i) => base + size / 2 + i)));
  });

  it('refuses a run when the grants hold its whole range, naming the grant and its file', () => {
    write(subuid, 'containers:2147483647:2147483648\n');
    readSubordinateIdsFrom([subuid, join(dir, 'absent')]);
    expect(() => ownUids(SCANNER_UIDS)()).toThrow(`no uid of its own is left for the file scanner's sandbox: 3902000000-3902999999 is all granted as subordinate ids (${subuid}: containers:2147483647:2147483648)`);
    expect(ownUidOverlaps()).toHaveLength(3);
    expect(ownUidOverlaps()[1]).toBe(`subordinate ids granted over the X helper's own uids 3901000000-3901999999 (all of them: its runs are refused): ${subuid}: containers:2147483647:2147483648`);
  });

  it('reads a file again once it changed, and an absent file grants nothing', () => {
    write(subuid, `alice:${CONVERTER_UIDS.base}:${CONVERTER_UIDS.size}\n`);
    readSubordinateIdsFrom([subuid]);
    const next = ownUids(CONVERTER_UIDS);
    expect(() => next()).toThrow(/all granted/);
    write(subuid, 'alice:100000:65536\n');
    expect(isInRange(next(), CONVERTER_UIDS)).toBe(true);
    expect(ownUidOverlaps()).toEqual([]);
    rmSync(subuid);
    expect(isInRange(next(), CONVERTER_UIDS)).toBe(true);
  });

  it('says which ranges a partial grant overlaps, and how much of each', () => {
    write(subuid, `alice:${X_HELPER_UIDS.base + 999_000}:2000\n`);
    readSubordinateIdsFrom([subuid]);
    expect(ownUidOverlaps()).toEqual([
      `subordinate ids granted over the X helper's own uids 3901000000-3901999999 (1000 of 1000000, skipped): ${subuid}: alice:3901999000:2000`,
      `subordinate ids granted over the file scanner's own uids 3902000000-3902999999 (1000 of 1000000, skipped): ${subuid}: alice:3901999000:2000`,
    ]);
  });
});
