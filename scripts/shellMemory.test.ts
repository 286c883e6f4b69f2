/**
 * The shell's memory group (shellMemory.mjs): the shell's user can neither leave it nor change its
 * limits, another account (a cage's) cannot join it, a group someone else owns is refused, and the
 * trim gives back the group's file pages while its processes keep running (a hot page faults back
 * in). On this host's cgroup v1 for real; v2 on a stand-in folder (what the module writes there).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { groupOwnershipProblem, openShellMemoryGroup, ownGroupPath, shellTrimWanted, type ShellMemoryGroup } from './shellMemory.mjs';
import { removeTestRoots, testRoot } from '../supervisor/testing/testRoots';

/** The shell's user (Chromium runs as it) and a cage's account: 57500–57599, 2 per test process. */
const SHELL_UID = 57_500 + 2 * (process.pid % 50);
const CAGE_UID = SHELL_UID + 1;

const v1 = process.getuid?.() === 0 && existsSync('/sys/fs/cgroup/memory/memory.stat') && !existsSync('/sys/fs/cgroup/cgroup.controllers');
const name = `shell-memory10-test-${process.pid}`;
const made: string[] = [];

afterAll(() => {
  for (const dir of made.reverse()) {
    for (const entry of existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []) if (entry.isDirectory()) rmdirSync(join(dir, entry.name));
    rmdirSync(dir);
  }
  removeTestRoots();
});

function open(): ShellMemoryGroup {
  const opened = openShellMemoryGroup({ name });
  if (!opened.group) throw new Error(opened.reason);
  if (!made.includes(opened.group.dir)) made.push(opened.group.dir);
  return opened.group;
}

const asUser = (uid: number, argv: string[]) => ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--', ...argv];

/** Runs `script` as `uid` in the group (as start.mjs runs Chromium: joined by root, then the user's). */
function runInGroup(group: ShellMemoryGroup, uid: number, script: string): { stdout: string; status: number | null } {
  const run = group.wrap(asUser(uid, ['/bin/sh', '-c', script]));
  const r = spawnSync(run[0]!, run.slice(1), { encoding: 'utf8' });
  return { stdout: r.stdout, status: r.status };
}

/** Each line `WHAT: ok|denied` of what the script tried. */
const tried = (out: string) => Object.fromEntries(out.trim().split('\n').filter((l) => l.includes(': ')).map((l) => l.split(': ') as [string, string]));
const attempt = (what: string, cmd: string) => `if ${cmd} 2>/dev/null; then echo "${what}: ok"; else echo "${what}: denied"; fi`;

describe.runIf(v1)('the shell\'s memory group (cgroup v1, this host)', () => {
  it('is root\'s: the shell\'s user cannot move out of it, make a group in it, or write its limits or its trim', () => {
    const group = open();
    const parent = dirname(group.dir);
    const memoryRoot = '/sys/fs/cgroup/memory';
    const own = join(memoryRoot, ownGroupPath('memory'));
    const attacks = [
      attempt('to the parent', `echo $$ > ${parent}/cgroup.procs`),
      attempt('to the hierarchy root', `echo $$ > ${memoryRoot}/cgroup.procs`),
      attempt('to npm start\'s group', `echo $$ > ${own}/cgroup.procs`),
      attempt('a group of its own inside', `mkdir ${group.dir}/escape`),
      ...['memory.limit_in_bytes', 'memory.soft_limit_in_bytes', 'memory.force_empty', 'memory.swappiness', 'memory.move_charge_at_immigrate', 'memory.oom_control'].map((f) => attempt(f, `echo 1 > ${group.dir}/${f}`)),
      'echo "in: $(grep -E \'^[0-9]+:memory:\' /proc/self/cgroup | cut -d: -f3)"',
    ].join('\n');
    const r = runInGroup(group, SHELL_UID, attacks);
    const results = tried(r.stdout);
    expect(results.in).toBe(group.dir.slice(memoryRoot.length));
    delete results.in;
    expect(Object.entries(results).filter(([, v]) => v !== 'denied')).toEqual([]);
    expect(Object.keys(results).length).toBe(10);
  });

  it('a cage\'s account cannot join it (its pages, its limit and the trim stay the shell\'s)', () => {
    const group = open();
    const r = spawnSync('setpriv', asUser(CAGE_UID, ['/bin/sh', '-c', attempt('join', `echo $$ > ${group.dir}/cgroup.procs`)]).slice(1), { encoding: 'utf8' });
    expect(tried(r.stdout)).toEqual({ join: 'denied' });
  });

  it('a group the user was handed (delegated, theirs to write) is escaped — and refused by npm start', () => {
    const group = open();
    // The attack on such a group: the user makes a group inside and moves there, out of the trim's reach.
    for (const path of [group.dir, join(group.dir, 'cgroup.procs')]) chownSync(path, SHELL_UID, SHELL_UID);
    try {
      const r = runInGroup(group, SHELL_UID, `mkdir ${group.dir}/escape && echo $$ > ${group.dir}/escape/cgroup.procs && grep -E '^[0-9]+:memory:' /proc/self/cgroup | cut -d: -f3`);
      expect(r.stdout.trim()).toBe(`${group.dir.slice('/sys/fs/cgroup/memory'.length)}/escape`);
      const again = openShellMemoryGroup({ name });
      expect(again.group).toBeNull();
      expect(again.reason).toMatch(/not only root's/);
    } finally {
      for (const path of [group.dir, join(group.dir, 'cgroup.procs')]) chownSync(path, 0, 0);
      if (existsSync(join(group.dir, 'escape'))) rmdirSync(join(group.dir, 'escape'));
    }
    expect(openShellMemoryGroup({ name }).group).not.toBeNull();
  });

  it('the trim gives back the group\'s file pages; its process keeps running, its pages fault back in', async () => {
    const group = open();
    const root = testRoot('cloison-shellmem-memory10-');
    // A program of its own (Node's, copied: its pages are no other process's), out of the page cache
    // (the copy's pages are the test's group's): the group's process reads them first, as it runs.
    const program = join(root, 'program');
    copyFileSync(process.execPath, program);
    spawnSync('sync', [program]); // written back first: a dirty page is not dropped
    spawnSync('dd', [`if=${program}`, 'iflag=nocache', 'count=0', 'status=none']);
    spawnSync('chmod', ['-R', 'a+rX', root]);
    const echo = "process.stdin.on('data', (d) => process.stdout.write(String(d)))";
    const run = group.wrap(asUser(SHELL_UID, [program, '-e', echo]));
    const child: ChildProcess = spawn(run[0]!, run.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: string[] = [];
    const nextLine = (send: string) =>
      new Promise<string>((resolve, reject) => {
        child.once('exit', () => reject(new Error('the program ended')));
        child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
        child.stdin!.write(`${send}\n`);
      });
    try {
      lines.push(await nextLine('first'));
      const majorFaults = () => Number(readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[9]);
      const report = await group.trim();
      expect(report.before.mappedFile).toBeGreaterThanOrEqual(8 * 1024 * 1024);
      expect(report.after.file).toBeLessThan(report.before.file - 8 * 1024 * 1024);
      const faults = majorFaults();
      lines.push(await nextLine('after the trim'));
      expect(lines).toEqual(['first', 'after the trim']); // it runs on, its code read back from its file
      expect(majorFaults()).toBeGreaterThan(faults);
      expect(group.memory().mappedFile).toBeGreaterThan(report.after.mappedFile); // charged to the group again
    } finally {
      const ended = new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
      child.kill('SIGKILL');
      await ended;
    }
  });
});

describe('the shell\'s memory group where the host has cgroup v2 (a stand-in hierarchy)', () => {
  it.runIf(process.getuid?.() === 0)('is made beside the cages\' groups, its controller enabled, and trimmed by the group\'s file bytes without swapping', async () => {
    const root = testRoot('cloison-shellmem-v2-memory10-');
    for (const dir of [root, join(root, 'cloison')]) {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      writeFileSync(join(dir, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
      writeFileSync(join(dir, 'cgroup.subtree_control'), '');
    }
    // What the kernel would have made in the new group (here, before: a folder of plain files).
    const dir = join(root, 'cloison', 'shell');
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(dir, 'memory.stat'), 'anon 1000\nfile 250000000\nfile_mapped 200000000\n');
    writeFileSync(join(dir, 'memory.reclaim'), '');
    writeFileSync(join(dir, 'cgroup.procs'), '');
    const opened = openShellMemoryGroup({ root });
    expect(opened.reason).toBeUndefined();
    expect(opened.group!.version).toBe(2);
    expect(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('+memory');
    expect(readFileSync(join(root, 'cloison', 'cgroup.subtree_control'), 'utf8')).toBe('+memory');
    expect(opened.group!.wrap(['chromium', '--app=x'])).toEqual(['/bin/sh', '-c', 'echo $$ 2>/dev/null > "$1"; shift; exec "$@"', 'cloison-shell-group', join(dir, 'cgroup.procs'), 'chromium', '--app=x']);
    await opened.group!.trim();
    expect(readFileSync(join(dir, 'memory.reclaim'), 'utf8')).toBe('250000000 swappiness=0');
  });

  it('reads its own group from /proc/self/cgroup, per controller', () => {
    const text = '9:name=systemd:/\n4:memory:/user.slice/a\n2:cpu,cpuacct:/b\n0::/user.slice/c\n';
    expect(ownGroupPath('memory', text)).toBe('/user.slice/a');
    expect(ownGroupPath('cpu', text)).toBe('/b');
    expect(ownGroupPath('', text)).toBe('/user.slice/c');
    expect(ownGroupPath('pids', text)).toBe('/');
  });

  it('refuses a folder others may write; the trim is off only with CLOISON_SHELL_TRIM=0', () => {
    const root = testRoot('cloison-shellmem-own-memory10-');
    const dir = join(root, 'g');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cgroup.procs'), '', { mode: 0o666 });
    spawnSync('chmod', ['0666', join(dir, 'cgroup.procs')]);
    expect(groupOwnershipProblem(dir)).toMatch(/may be written by others/);
    expect(shellTrimWanted({ CLOISON_SHELL_TRIM: '0' })).toBe(false);
    expect(shellTrimWanted({})).toBe(true);
  });
});
