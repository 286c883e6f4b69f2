/**
 * Attack on the frozen kill (cageCgroup.ts killAndRemove, priv-9 b1591c5): a group whose freeze
 * does not complete in the second allowed is killed unfrozen, and was then never thawed (thawed
 * only "if frozen"). The kernel goes on freezing it: each process freezes on its way to the
 * SIGKILL it was sent, and stays frozen with it pending — the group FREEZING, then FROZEN, for
 * ever: nothing of it dies, its folders cannot be removed, until someone writes THAWED.
 *
 * A cage holds its freeze back at will with one process in an uninterruptible wait: here a
 * `stat` on a FUSE file system whose daemon (outside the group) never answers; a hung network
 * file system, a blocked device does the same. The group's other process, a plain `sleep`, must
 * be gone after the kill.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipWhen } from '../testing/skipWithReason';
import { testRoot } from '../testing/realCage';
import { waitFor } from '../testing/waitFor';
import { createCageCgroup, type CageCgroup } from './cageCgroup';

const FREEZER = '/sys/fs/cgroup/freezer';

/** Mounts a FUSE file system at argv[1], answers its INIT, and never answers anything else. */
const SILENT_FUSE = `
import ctypes, os, struct, sys
fd = os.open('/dev/fuse', os.O_RDWR)
libc = ctypes.CDLL(None, use_errno=True)
if libc.mount(b'cloison-silent', sys.argv[1].encode(), b'fuse', 0, f'fd={fd},rootmode=40000,user_id=0,group_id=0'.encode()) != 0:
    sys.exit('mount failed: errno %d' % ctypes.get_errno())
unique = struct.unpack_from('<IIQ', os.read(fd, 1 << 20), 0)[2]
out = struct.pack('<IIIIHHIIHHI28x', 7, 31, 0, 0, 0, 0, 4096, 0, 0, 0, 0)
os.write(fd, struct.pack('<IiQ', 16 + len(out), 0, unique) + out)
print('ready', flush=True)
while True:
    os.read(fd, 1 << 20)
`;

let root: string | null = null;
let daemon: ChildProcess | null = null;
let group: CageCgroup | null = null;
const members: ChildProcess[] = [];

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

afterAll(async () => {
  for (const dir of group?.dirs ?? []) if (existsSync(join(dir, 'freezer.state'))) writeFileSync(join(dir, 'freezer.state'), 'THAWED');
  if (daemon?.pid) process.kill(daemon.pid, 'SIGKILL');
  if (root) spawnSync('umount', ['-l', join(root, 'mnt')]);
  for (const m of members) if (m.pid && alive(m.pid)) process.kill(m.pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  for (const dir of group?.dirs ?? []) if (existsSync(dir)) rmdirSync(dir);
  if (root) rmSync(root, { recursive: true, force: true });
});

const cannotHoldAFreeze = !existsSync(join(FREEZER, 'cgroup.procs')) ? `no cgroup v1 freezer hierarchy at ${FREEZER}` : !existsSync('/dev/fuse') && 'no /dev/fuse: no FUSE daemon to hold the freeze back';

describe('a group whose freeze does not complete', skipWhen(cannotHoldAFreeze), () => {
  it('is thawed after the kill: its processes die, it is not left frozen', async () => {
    root = testRoot('cloison-freeze-');
    const mnt = join(root, 'mnt');
    mkdirSync(mnt);
    daemon = spawn('python3', ['-c', SILENT_FUSE, mnt], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      daemon!.stdout!.once('data', () => resolve());
      daemon!.once('exit', (code) => reject(new Error(`the FUSE daemon ended (${code})`)));
    });
    const made = createCageCgroup(`freezetest-${process.pid}`, { memoryBytes: 64 * 2 ** 20, tasks: 16, cpuWeight: 100 });
    if (!made.cgroup) throw new Error(made.reason);
    group = made.cgroup;
    const freezerDir = group.dirs.find((d) => d.startsWith(`${FREEZER}/`));
    expect(freezerDir, 'the group is in the freezer controller').toBeDefined();
    const [prefix, ...prefixArgs] = group.joinPrefix;
    const sleeper = spawn(prefix!, [...prefixArgs, 'sleep', '1000'], { stdio: 'ignore' });
    const stuck = spawn(prefix!, [...prefixArgs, 'stat', join(mnt, 'x')], { stdio: 'ignore' });
    members.push(sleeper, stuck);
    const procs = () => readFileSync(join(freezerDir!, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    await waitFor(() => procs().length === 2, 'both processes in the group', 15_000);
    await new Promise((r) => setTimeout(r, 300)); // stat waiting on the daemon
    const report = group.remove();
    await new Promise((r) => setTimeout(r, 1500));
    const state = existsSync(freezerDir!) ? readFileSync(join(freezerDir!, 'freezer.state'), 'utf8').trim() : 'removed';
    console.log(`kill of a group whose freeze hangs: ${JSON.stringify(report)}; 1.5 s later the freezer says ${state}, the sleeper ${alive(sleeper.pid!) ? 'alive' : 'gone'}, the stuck stat ${alive(stuck.pid!) ? 'alive' : 'gone'}`);
    expect(report.frozen).toBe(false);
    expect(alive(sleeper.pid!), 'the group\'s sleeper after the kill').toBe(false);
    expect(state, 'the group\'s freezer after the kill').not.toMatch(/FROZEN|FREEZING/);
  }, 30_000);
});
