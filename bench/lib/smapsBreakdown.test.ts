import { describe, expect, it } from 'vitest';
import { breakdown, mappingClass } from './smapsBreakdown';

const PROGRAM = '/usr/lib/chromium/chromium';

/** One smaps entry: its header line and the fields read. */
function entry(name: string, kib: { rss: number; pss: number; dirty: number }, perms = 'r--p'): string {
  return [
    `55e3d33c0000-55e3d35c0000 ${perms} 00000000 fe:01 1234                       ${name}`.trimEnd(),
    `Size:               2048 kB`,
    `Rss:                ${kib.rss} kB`,
    `Pss:                ${kib.pss} kB`,
    `Shared_Clean:          0 kB`,
    `Private_Dirty:      ${kib.dirty} kB`,
    `Referenced:         ${kib.rss} kB`,
  ].join('\n');
}

describe('smaps by mapping', () => {
  it('names each mapping\'s class: the program, libraries, data files, fonts, anonymous, shared memory', () => {
    expect(mappingClass(PROGRAM, PROGRAM)).toBe('program');
    expect(mappingClass('/usr/lib/x86_64-linux-gnu/libc.so.6', PROGRAM)).toBe('libraries');
    expect(mappingClass('/usr/lib/x86_64-linux-gnu/libpng16.so.16.39.0', PROGRAM)).toBe('libraries');
    expect(mappingClass('/usr/lib/chromium/resources.pak', PROGRAM)).toBe('data files');
    expect(mappingClass('/usr/lib/chromium/icudtl.dat', PROGRAM)).toBe('data files');
    expect(mappingClass('/usr/lib/chromium/v8_context_snapshot.bin', PROGRAM)).toBe('data files');
    expect(mappingClass('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', PROGRAM)).toBe('fonts');
    expect(mappingClass('', PROGRAM)).toBe('anonymous');
    expect(mappingClass('[heap]', PROGRAM)).toBe('anonymous');
    expect(mappingClass('[stack]', PROGRAM)).toBe('anonymous');
    expect(mappingClass('/memfd:shared-memory-region (deleted)', PROGRAM)).toBe('shared memory');
    expect(mappingClass('/SYSV00000000 (deleted)', PROGRAM)).toBe('shared memory');
    expect(mappingClass('/dev/shm/.org.chromium.Chromium.x', PROGRAM)).toBe('shared memory');
    expect(mappingClass('/tmp/profile/Default/History', PROGRAM)).toBe('other files');
    // Another program's executable is not this one's.
    expect(mappingClass('/usr/bin/node', PROGRAM)).toBe('other files');
    expect(mappingClass('/usr/bin/node', '/usr/bin/node')).toBe('program');
  });

  it('sums PSS, private dirty and RSS by class, in MiB', () => {
    const text = [
      entry(PROGRAM, { rss: 2048, pss: 1024, dirty: 0 }, 'r-xp'),
      entry(PROGRAM, { rss: 1024, pss: 1024, dirty: 1024 }),
      entry('', { rss: 512, pss: 512, dirty: 512 }, 'rw-p'),
      entry('/memfd:shared-memory-region (deleted)', { rss: 3568, pss: 1784, dirty: 0 }, 'rw-s'),
      entry('/usr/lib/x86_64-linux-gnu/libc.so.6', { rss: 1024, pss: 10, dirty: 0 }, 'r-xp'),
      '',
    ].join('\n');
    const by = breakdown(text, PROGRAM);
    expect(by.program).toEqual({ pss: 2, dirty: 1, rss: 3 });
    expect(by.anonymous).toEqual({ pss: 0.5, dirty: 0.5, rss: 0.5 });
    expect(by['shared memory']).toEqual({ pss: 1784 / 1024, dirty: 0, rss: 3568 / 1024 });
    expect(by.libraries!.pss).toBeCloseTo(10 / 1024);
    expect(by.fonts).toBeUndefined();
  });
});
