/**
 * A card proxy's own folders removed at a new start (system/ownedFolders.ts): emptied as their
 * owner whichever proxy uid that is (a reload may have given the level another), a link in them
 * removed and never followed, a leftover of an earlier removal taken too, a folder its owner jammed
 * (0500) emptied, and one it cannot empty left under a name of its own rather than block a start.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findBinary } from './binaries';
import { testRoot } from '../testing/testRoots';
import { asideOf, removeOwnedFolders } from './ownedFolders';

const missing = ['setpriv', 'find'].filter((b) => !findBinary(b));
const OLD_UID = 50_800 + (process.pid % 100);
/** A gid no group is likely to have, other than OLD_UID's number. */
const OTHER_GID = 50_900 + (process.pid % 100);

/** Runs a shell command as `uid` (what the proxy's processes did in their folder). */
const asUid = (uid: number, script: string, ...args: string[]) => execFileSync('setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--', '/bin/sh', '-c', script, 'sh', ...args]);

describe.skipIf(missing.length > 0)('removing a card proxy\'s own folders', () => {
  let root: string;

  beforeAll(() => {
    root = testRoot('cloison-pof-');
    chmodSync(root, 0o711);
  });

  /** A level folder (root's, 0755) with a `proxy/` folder given to `uid`. */
  const levelWith = (name: string, uid: number) => {
    const level = join(root, name);
    mkdirSync(level, { mode: 0o755 });
    chmodSync(level, 0o755);
    const folder = join(level, 'proxy');
    mkdirSync(folder, { mode: 0o700 });
    chownSync(folder, uid, uid);
    return folder;
  };

  it('empties a folder of an earlier proxy uid\'s (the policy gave the level another since), nested folders and all', async () => {
    const folder = levelWith('reloaded', OLD_UID);
    asUid(OLD_UID, 'mkdir -p "$1/a/b/c" && touch "$1/a/b/c/f" "$1/x"', folder);
    await removeOwnedFolders([folder]);
    expect(existsSync(folder)).toBe(false);
    expect(existsSync(asideOf(folder))).toBe(false);
  });

  it('empties a folder its owner made unwritable to itself (a subfolder 0500 with a file in it), at the first removal', async () => {
    const folder = levelWith('jammed', OLD_UID);
    asUid(OLD_UID, 'mkdir -p "$1/a/b" && touch "$1/a/b/f" && chmod 0500 "$1/a/b" && chmod 0500 "$1/a"', folder);
    expect(await removeOwnedFolders([folder])).toEqual([]);
    expect(existsSync(folder)).toBe(false);
    expect(existsSync(asideOf(folder))).toBe(false);
  });

  it('takes what an earlier removal left at its aside name first', async () => {
    const folder = levelWith('earlier', OLD_UID);
    asUid(OLD_UID, 'mkdir -p "$1/a/b" && touch "$1/a/b/f" && chmod 0500 "$1/a/b"', folder);
    renameSync(folder, asideOf(folder));
    mkdirSync(folder, { mode: 0o700 });
    chownSync(folder, OLD_UID, OLD_UID);
    expect(await removeOwnedFolders([folder])).toEqual([]);
    expect(existsSync(folder)).toBe(false);
    expect(existsSync(asideOf(folder))).toBe(false);
  });

  /** A file of root's in a folder of root's inside `folder`: its owner cannot delete it. */
  const putForeignFile = (folder: string) => {
    mkdirSync(join(folder, 'r'), { mode: 0o755 });
    writeFileSync(join(folder, 'r', 'f'), 'root\'s\n');
  };
  /** `folder` gone, its content kept under one name of its own, nothing at the aside name. */
  const expectLeftAside = (left: string[], folder: string) => {
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/\/\.proxy\.left-[0-9a-f]{12}$/);
    expect(existsSync(join(left[0]!, 'r', 'f'))).toBe(true);
    expect(existsSync(folder)).toBe(false);
    expect(existsSync(asideOf(folder))).toBe(false);
  };

  it('leaves a folder its owner cannot empty (another uid\'s file in it) under a name of its own, and says where', async () => {
    const folder = levelWith('foreign', OLD_UID);
    putForeignFile(folder);
    const left = await removeOwnedFolders([folder]);
    expectLeftAside(left, folder);
    // The next removal does not take it again: a new folder of the same name goes as usual.
    mkdirSync(folder, { mode: 0o700 });
    chownSync(folder, OLD_UID, OLD_UID);
    expect(await removeOwnedFolders([folder])).toEqual([]);
    expect(existsSync(left[0]!)).toBe(true);
  });

  it('leaves an earlier removal\'s leftover it cannot empty under a name of its own, once, and removes the new folder', async () => {
    const folder = levelWith('earlierForeign', OLD_UID);
    putForeignFile(folder);
    renameSync(folder, asideOf(folder));
    mkdirSync(folder, { mode: 0o700 });
    chownSync(folder, OLD_UID, OLD_UID);
    const left = await removeOwnedFolders([folder]);
    expectLeftAside(left, folder);
  });

  it('empties as the folder\'s own gid, not the gid numbered as its uid', async () => {
    // A folder of OLD_UID's whose group is OTHER_GID; in it a folder root owns, group-writable by
    // OTHER_GID, holding a file of root's: only a process of gid OTHER_GID may unlink that file.
    const folder = levelWith('grouped', OLD_UID);
    chownSync(folder, OLD_UID, OTHER_GID);
    const shared = join(folder, 'g');
    mkdirSync(shared);
    chownSync(shared, 0, OTHER_GID);
    chmodSync(shared, 0o770);
    writeFileSync(join(shared, 'f'), 'x');
    expect(await removeOwnedFolders([folder])).toEqual([]);
    expect(existsSync(folder)).toBe(false);
  });

  it('removes a link in the folder and never what it points to', async () => {
    const victim = join(root, 'victim');
    mkdirSync(victim, { mode: 0o700 });
    writeFileSync(join(victim, 'precious'), 'root only\n', { mode: 0o600 });
    const folder = levelWith('linked', OLD_UID);
    asUid(OLD_UID, 'ln -s "$2" "$1/d" && ln -s "$2/precious" "$1/p"', folder, victim);
    await removeOwnedFolders([folder]);
    expect(existsSync(folder)).toBe(false);
    expect(existsSync(asideOf(folder))).toBe(false);
    expect(existsSync(join(victim, 'precious'))).toBe(true);
  });

  it('removes an empty folder still root\'s, and nothing when there is none', async () => {
    const level = join(root, 'plain');
    mkdirSync(join(level, 'proxy'), { recursive: true, mode: 0o700 });
    await removeOwnedFolders([join(level, 'proxy'), join(level, 'netplex')]);
    expect(existsSync(join(level, 'proxy'))).toBe(false);
  });
});
