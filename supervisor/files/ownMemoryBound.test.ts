import { describe, expect, it } from 'vitest';
import { ownGroupBoundsMemory, type CgroupFiles } from './ownMemoryBound';

/** A host of 16 GiB unless its /proc/meminfo is given (null: unreadable). */
function host(selfCgroup: string, limits: Record<string, string>, meminfo: string | null = 'MemTotal:       16777216 kB\nMemFree:         1024 kB\n'): CgroupFiles {
  return { selfCgroup: () => selfCgroup, read: (path) => (path === '/proc/meminfo' ? meminfo : (limits[path] ?? null)) };
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
  // attack-10: a finite limit the host's memory never reaches (a container's or a unit's set at or
  // above the RAM) bounds nothing: the scanner's forks, 1 GiB each, would take the host's memory
  // before the group's OOM kill picks among them.
  it('a limit at or above the host\'s memory is no bound (v2, v1)', () => {
    expect(ownGroupBoundsMemory(host('0::/a\n', { '/sys/fs/cgroup/a/memory.max': String(64 * 2 ** 30) }))).toBe(false);
    expect(ownGroupBoundsMemory(host('0::/a\n', { '/sys/fs/cgroup/a/memory.max': String(16 * 2 ** 30) }))).toBe(false);
    expect(ownGroupBoundsMemory(host('4:memory:/c\n', { '/sys/fs/cgroup/memory/c/memory.limit_in_bytes': String(2 ** 50) }))).toBe(false);
    // Below it, the group's limit is what holds: one ancestor enough.
    expect(ownGroupBoundsMemory(host('0::/a/b\n', { '/sys/fs/cgroup/a/b/memory.max': String(64 * 2 ** 30), '/sys/fs/cgroup/a/memory.max': String(8 * 2 ** 30) }))).toBe(true);
  });
  it("a host whose memory cannot be read: no limit is known to bound it", () => {
    expect(ownGroupBoundsMemory(host('0::/a\n', { '/sys/fs/cgroup/a/memory.max': '1073741824\n' }, null))).toBe(false);
    expect(ownGroupBoundsMemory(host('0::/a\n', { '/sys/fs/cgroup/a/memory.max': '1073741824\n' }, 'garbage'))).toBe(false);
  });
  it('nothing readable is no bound', () => {
    expect(ownGroupBoundsMemory({ selfCgroup: () => { throw new Error('no /proc'); }, read: () => null })).toBe(false);
    expect(ownGroupBoundsMemory(host('garbage\n', {}))).toBe(false);
  });
});
