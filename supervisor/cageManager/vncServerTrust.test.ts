/**
 * Where a vnc level's socket may live for root to hand its connection over (vncServerTrust.ts):
 * real folders, each case the name of a socket a VM's owner would use.
 */
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { checkSocketPlace } from './vncServerTrust';

const OWNER = 58891;
const OTHER = 58892;
const root = testRoot('cloison-vnctrust-');
chmodSync(root, 0o755);

function folder(name: string, mode: number, uid = 0): string {
  const path = join(root, name);
  mkdirSync(path, { recursive: true });
  chownSync(path, uid, uid);
  chmodSync(path, mode);
  return path;
}

afterAll(() => removeTestRoots());

describe('checkSocketPlace', () => {
  it('accepts root\'s folders and the owner\'s own, below a sticky folder (the test root is in /tmp)', () => {
    expect(() => checkSocketPlace(join(folder('root', 0o755), 'vm.sock'), 0)).not.toThrow();
    expect(() => checkSocketPlace(join(folder('owner', 0o700, OWNER), 'vm.sock'), OWNER)).not.toThrow();
  });

  it('refuses the socket\'s own folder writable by others, sticky or not, or by its group', () => {
    expect(() => checkSocketPlace(join(folder('sticky', 0o1777), 'vm.sock'), OWNER)).toThrow(/is writable by others \(sticky/);
    expect(() => checkSocketPlace(join(folder('open', 0o777), 'vm.sock'), 0)).toThrow(/is writable by others/);
    expect(() => checkSocketPlace(join(folder('group', 0o775), 'vm.sock'), 0)).toThrow(/is writable by its group/);
  });

  it('refuses a plain others-writable folder above (another uid could rename the folder below), a sticky one is accepted', () => {
    folder('open2', 0o777);
    expect(() => checkSocketPlace(join(folder('open2/vm', 0o755), 'vm.sock'), 0)).toThrow(/open2, on the way/);
    folder('sticky2', 0o1777);
    expect(() => checkSocketPlace(join(folder('sticky2/vm', 0o755), 'vm.sock'), 0)).not.toThrow();
  });

  it('refuses a folder of a third uid on the way', () => {
    folder('third', 0o755, OTHER);
    expect(() => checkSocketPlace(join(folder('third/vm', 0o755), 'vm.sock'), OWNER)).toThrow(`is uid ${OTHER}'s`);
    expect(() => checkSocketPlace(join(folder('third/vm2', 0o755, OWNER), 'vm.sock'), OWNER)).toThrow(`is uid ${OTHER}'s`);
  });
});
