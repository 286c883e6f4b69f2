/**
 * The cage manager's `cloison` part, compromised: it forges a log line and a terminal escape on its
 * stderr and forks a sleeper in a session of its own. Seen with the manager's former start
 * (socketHandOver.ts's spawnUnprivilegedPart: bwrap, then setpriv): root read the forged line and
 * the escape as written, over a Unix socketpair (the lingering-descriptor hole, partChannel.ts),
 * or they went straight into the manager's stderr; the sleeper was alive after the part was
 * killed. Started the one way every part is (cloisonPart.ts → sandbox/partProcess.ts), its stderr
 * is a pipe, each line marked and escaped, and its control group is killed whole when it stops.
 */
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPamTestUser } from '../testing/pamTestUser';
import { waitFor } from '../testing/waitFor';
import { cloisonPart } from './cloisonPart';

const cloison = createPamTestUser();
const sleepers: number[] = [];
afterAll(() => {
  for (const pid of sleepers) if (alive(pid)) process.kill(pid, 'SIGKILL');
  cloison.remove();
});

function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe("the cage manager's cloison part", () => {
  it('cannot forge the manager\'s log; what it forks ends with it; it runs as cloison, restricted', async () => {
    const lines: string[] = [];
    const part = cloisonPart({
      command: { callerUrl: import.meta.url, source: '', bundle: '', script: join(__dirname, '../testing/hostileCloisonPart.ts') },
      account: () => cloison,
      message: () => undefined,
      stderr: (line) => void lines.push(line),
    });
    try {
      await part.start();
      await waitFor(() => lines.length >= 2, 'its stderr', 10_000);
      const pid = part.pid!;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      expect(Number(/^Uid:\s+(\d+)/m.exec(status)![1])).toBe(cloison.uid);
      expect(/^CapEff:\s+(\S+)/m.exec(status)![1]).toBe('0000000000000000');
      expect(/^Seccomp:\s+(\d)/m.exec(status)![1]).toBe('2');
      expect(readlinkSync(`/proc/${pid}/fd/2`)).toMatch(/^pipe:/);
      console.log(`its stderr as the manager logs it: ${JSON.stringify(lines)}`);
      for (const line of lines) expect(line.startsWith('cloison part: ')).toBe(true);
      expect(lines.join('\n')).not.toMatch(/[\x1b\x07]/);

      const dirs = part.cgroupDirs;
      expect(dirs.length).toBeGreaterThan(0);
      const inGroup = dirs.flatMap((d) => readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
      const sleeper = inGroup.find((p) => p !== pid && readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sleep'));
      expect(sleeper).toBeDefined();
      sleepers.push(sleeper!);
      await part.stop();
      await waitFor(() => !alive(sleeper!), 'the sleeper gone with the part', 15_000).catch(() => undefined);
      console.log(`sleeper ${sleeper} (setsid) after the part's stop: ${alive(sleeper!) ? 'ALIVE' : 'gone'}`);
      expect(alive(sleeper!)).toBe(false);
      expect(dirs.filter((d) => existsSync(d))).toEqual([]);
    } finally {
      await part.stop();
    }
  }, 60_000);
});
