/**
 * A v1 group is given to the cloison part (its folders its account's, so that it may make groups
 * below) only when its memory limits hold below it: with memory.use_hierarchy 0, the part could
 * move itself into a group it made and be outside its own memory limit. Folders standing in for
 * the group's (the real delegation: delegatedPartCgroup.test.ts). Seen before the check: the
 * folders were handed over with use_hierarchy 0.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTestRoot, testRoot } from '../testing/testRoots';
import { delegatePartCgroup, type ControlGroup, type ControlGroups } from './partCgroup';

const PART = { uid: 58910, gid: 58910 };
let root: string;

beforeAll(() => {
  root = testRoot('cloison-deleg-');
});
afterAll(() => removeTestRoot(root));

function groupWith(useHierarchy: string): ControlGroup {
  const memory = join(root, `memory-${useHierarchy}`, 'part');
  const pids = join(root, `pids-${useHierarchy}`, 'part');
  mkdirSync(memory, { recursive: true });
  mkdirSync(pids, { recursive: true });
  writeFileSync(join(memory, 'memory.use_hierarchy'), `${useHierarchy}\n`);
  return { version: 1, joinPrefix: [], dirs: [memory, pids], remove: () => undefined };
}

const groups = { create: () => ({ cgroup: null, reason: 'none' }), open: () => null } as unknown as ControlGroups;

describe('delegating the cloison part\'s v1 group', () => {
  it('is refused when memory limits are not hierarchical: the folders stay root\'s', () => {
    const group = groupWith('0');
    expect(delegatePartCgroup(groups, group, PART)).toBe(group);
    for (const dir of group.dirs) expect(statSync(dir).uid).toBe(0);
  });

  it('gives the folders to the part when they are', () => {
    const group = groupWith('1');
    expect(delegatePartCgroup(groups, group, PART)).not.toBe(group);
    for (const dir of group.dirs) expect(statSync(dir).uid).toBe(PART.uid);
  });
});
