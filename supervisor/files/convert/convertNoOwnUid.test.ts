/**
 * A conversion as root when /etc/subuid's grants hold the converters' whole uid range
 * (system/ownUids.ts): refused with the grant named, nothing run — not an error that ends the
 * transfer unjournaled. (Rootless, the part's sandboxes draw no own uid: nothing to refuse.)
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSubordinateIdsFrom } from '../../system/subordinateIds';
import { convertDocument } from './documentConverter';

const dir = mkdtempSync(join(tmpdir(), 'cloison-cnu-'));
afterAll(() => {
  readSubordinateIdsFrom(null);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(process.getuid?.() !== 0)('a conversion whose uid range subordinate grants hold', () => {
  it('is refused naming the grant, and leaves no file', async () => {
    const subuid = join(dir, 'subuid');
    writeFileSync(subuid, 'containers:2147483647:2147483648\n');
    readSubordinateIdsFrom([subuid]);
    const staged = join(dir, 'report.pdf');
    writeFileSync(staged, '%PDF-1.7\n');
    const out = join(dir, 'report.pdf.pdf');
    const done = await convertDocument(staged, 'pdf', out, { dpi: 150, maxPages: 5, maxPageSide: 10_000, memoryBytes: 2 ** 30, tasks: 128, secondsPerPage: 30, secondsToOpen: 60, thumbnails: 0, ocr: null });
    expect(done).toEqual({ ok: false, refusal: 'no-sandbox-uid', reason: expect.stringContaining(`the converter cannot run: no uid of its own is left for the document converter's sandbox: 3900000000-3900999999 is all granted as subordinate ids (${subuid}: containers:2147483647:2147483648)`) });
    expect(existsSync(out)).toBe(false);
  });
});
