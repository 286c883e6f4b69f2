import { describe, expect, it } from 'vitest';
import { ownGroupBoundsMemory, type CgroupFiles } from './ownMemoryBound';

function host(selfCgroup: string, limits: Record<string, string>): CgroupFiles {
  return { selfCgroup: () => selfCgroup, read: (path) => limits[path] ?? null };
}

describe("whether this process's own control group bounds its memory", () => {
  it('v2: the part\'s own group with a limit', () => {
    expect(ownGroupBoundsMemory(host('0::/system.slice/cloison.service/part\n', { '/sys/fs/cgroup/system.slice/cloison.service/part/memory.max': '1073741824\n' }))).toBe(true);
  });
  it('v2: an ancestor with a limit bounds it too', () => {
    expect(ownGroupBoundsMemory(host('0::/a/b\n', { '/sys/fs/cgroup/a/b/memory.max': 'max\n', '/sys/fs/cgroup/a/memory.max': '536870912\n' }))).toBe(true);
  });
  it('v2: "max" all the way up is no bound', () => {
    expect(ownGroupBoundsMemory(host('0::/a/b\n', { '/sys/fs/cgroup/a/b/memory.max': 'max\n', '/sys/fs/cgroup/a/memory.max': 'max\n' }))).toBe(false);
  });
  it("v1: the memory controller's limit, v1's unlimited value is none", () => {
    expect(ownGroupBoundsMemory(host('4:memory:/cloison\n3:pids:/cloison\n', { '/sys/fs/cgroup/memory/cloison/memory.limit_in_bytes': '1073741824\n' }))).toBe(true);
    expect(ownGroupBoundsMemory(host('4:memory:/user.slice\n', { '/sys/fs/cgroup/memory/user.slice/memory.limit_in_bytes': '9223372036854771712\n', '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n' }))).toBe(false);
  });
  it('nothing readable is no bound', () => {
    expect(ownGroupBoundsMemory({ selfCgroup: () => { throw new Error('no /proc'); }, read: () => null })).toBe(false);
    expect(ownGroupBoundsMemory(host('garbage\n', {}))).toBe(false);
  });
});
