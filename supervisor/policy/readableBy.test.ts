/**
 * Whether the part's account could read a policy file, as root judges it from the mode bits
 * (readableBy.ts): a folder above it it cannot pass, or the file itself not readable, is named;
 * root's 0644 in folders 0755 (what the README asks of /etc/cloison/recipients) passes; the bits
 * of the owner, the group or the others are the ones that apply to it.
 */
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRoot } from '../testing/testRoots';
import { unreadableBy } from './readableBy';

const PART = { name: 'part', uid: 58629, gid: 58629 };

describe('a policy file readable by the part', () => {
  it('names the folder it cannot pass or the file it cannot read; passes 0644 in 0755', () => {
    const root = testRoot('cloison-readable-');
    chmodSync(root, 0o755);
    const dir = join(root, 'recipients');
    mkdirSync(dir, { mode: 0o700 });
    const key = join(dir, 'officer.asc');
    writeFileSync(key, 'key', { mode: 0o600 });
    expect(unreadableBy(key, PART)).toBe(`${dir} (uid 0, gid 0, mode 700) is not passable by part`);
    chmodSync(dir, 0o755);
    expect(unreadableBy(key, PART)).toBe(`${key} (uid 0, gid 0, mode 600) is not readable by part`);
    chmodSync(key, 0o644);
    expect(unreadableBy(key, PART)).toBeNull();
    expect(unreadableBy(key, { ...PART, uid: 0 })).toBeNull();
    expect(unreadableBy(join(dir, 'gone.asc'), PART)).toMatch(/gone\.asc: ENOENT$/);
  });

  it("applies the owner's bits to its owner, the group's to its group, not the others'", () => {
    const root = testRoot('cloison-readable-');
    chmodSync(root, 0o755);
    const key = join(root, 'k.asc');
    writeFileSync(key, 'key');
    chmodSync(key, 0o604); // others may read, the group may not
    chownSync(key, 0, PART.gid);
    expect(unreadableBy(key, PART)).toMatch(/is not readable by part$/);
    chmodSync(key, 0o400);
    chownSync(key, PART.uid, 0);
    expect(unreadableBy(key, PART)).toBeNull();
  });
});
