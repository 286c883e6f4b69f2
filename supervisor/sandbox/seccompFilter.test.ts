/**
 * The syscall filter, tried the way a hostile cage program would: `unshare -U`, `unshare -Ur`, and
 * a small program calling every denied syscall, run as a true cage process (the cage agent) and
 * inside each helper sandbox; the cage's own apps still start under it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRealCage, testRoot, type RealCage } from '../testing/realCage';
import { CAGE_AGENT_APP, runThroughAgent } from '../testing/cageAgent';
import { clipboardHelperArgs } from '../clipboard/xSelection';
import { fileHelperSandboxArgs } from '../files/cageFileSandbox';
import { spawnBwrap } from './bwrapSpawn';
import { DENIED_SYSCALLS, SINGLE_PROCESS_NO_NETWORK_DENIED_SYSCALLS, seccompProgram, type DeniedSyscall } from './seccompFilter';

const ERRNO = { EPERM: 1, ENOSYS: 38 } as const;

/** Arguments that make each call denied: the flag, request or domain the rule is about. */
function deniedArgs(rule: DeniedSyscall): number[] {
  if (rule.name === 'clone') return [0x10000000 | 17]; // CLONE_NEWUSER | SIGCHLD
  if (rule.name === 'unshare') return [0x10000000]; // CLONE_NEWUSER
  if (rule.name === 'personality') return [0x0008]; // PER_LINUX32
  if (rule.name === 'ioctl') return [0, 0x5412]; // TIOCSTI on stdin
  return [];
}

/** A Perl program (perl-base is in every Debian) that calls each syscall and prints "name errno". */
function probeProgram(rules: readonly DeniedSyscall[]): string {
  const calls = rules.map((r) => {
    const args = [...deniedArgs(r), 0, 0, 0, 0, 0].slice(0, 5).join(', ');
    return `{ $! = 0; my $r = syscall(${r.nr}, ${args}); POSIX::_exit(0) if $r == 0 && "${r.name}" eq "clone"; print "${r.name} ", ($r == -1 ? $! + 0 : "ok"), "\\n"; }`;
  });
  // Controls that must keep working: fork (clone without namespace flags), the personality query.
  calls.push('{ my $p = fork(); if ($p == 0) { POSIX::_exit(0) } waitpid($p, 0); print "fork ", ($p > 0 ? "ok" : $! + 0), "\\n"; }');
  calls.push('{ my $r = syscall(135, 0xffffffff); print "personality-query ", ($r == -1 ? $! + 0 : "ok"), "\\n"; }');
  return `use POSIX; ${calls.join(' ')}`;
}

function parseProbe(output: string): Record<string, string> {
  return Object.fromEntries(output.trim().split('\n').map((l) => l.split(' ') as [string, string]));
}

function expectEveryCallDenied(results: Record<string, string>): void {
  for (const rule of DENIED_SYSCALLS) expect(`${rule.name} ${results[rule.name]}`).toBe(`${rule.name} ${ERRNO[rule.errno]}`);
  expect(results.fork).toBe('ok');
  expect(results['personality-query']).toBe('ok');
}

describe('syscall filter', () => {
  it('names every syscall by its x86_64 number', () => {
    const header = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
    if (!existsSync(header)) return; // the numbers are kernel ABI; the header only double-checks them
    const text = readFileSync(header, 'utf8');
    for (const rule of [...DENIED_SYSCALLS, ...SINGLE_PROCESS_NO_NETWORK_DENIED_SYSCALLS]) expect(new RegExp(`#define __NR_${rule.name} (\\d+)`).exec(text)?.[1], rule.name).toBe(String(rule.nr));
  });

  it('is a whole classic BPF program that checks the architecture first', () => {
    const program = seccompProgram();
    expect(program.length % 8).toBe(0);
    expect(program.readUInt32LE(4)).toBe(4); // load seccomp_data.arch
    expect(program.readUInt32LE(12)).toBe(0xc000003e); // AUDIT_ARCH_X86_64
  });

  describe('in a cage', () => {
    const root = testRoot();
    let cage: RealCage;
    beforeAll(async () => {
      cage = await startRealCage({ level: 'low', root, apps: [CAGE_AGENT_APP, ['xterm'], ['xedit']] });
    });
    afterAll(async () => {
      await cage?.stop();
    });

    it('refuses unshare -U and unshare -Ur to a cage program, which runs filtered with no new privileges', async () => {
      const r = await runThroughAgent(cage.paths.home, 'unshare -U true; echo "U=$?"; unshare -Ur id -u; echo "Ur=$?"; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status');
      expect(r.output).toMatch(/unshare failed: Operation not permitted/);
      expect(r.output).toContain('U=1');
      expect(r.output).toContain('Ur=1');
      expect(r.output).toMatch(/Seccomp:\s+2/);
      expect(r.output).toMatch(/NoNewPrivs:\s+1/);
    });

    it('refuses every denied syscall with its errno, while fork and the personality query still work', async () => {
      const r = await runThroughAgent(cage.paths.home, `perl -e '${probeProgram(DENIED_SYSCALLS).replace(/'/g, `'\\''`)}'`);
      expect(r.code).toBe(0);
      expectEveryCallDenied(parseProbe(r.output));
    });

    it("the cage's window manager and apps still run under it", async () => {
      const r = await cage.sh('cat /proc/[0-9]*/comm');
      for (const program of ['Xvnc', 'openbox', 'xterm', 'xedit']) expect(r.stdout).toContain(`${program}\n`);
    });
  });

  describe('in the helper sandboxes', () => {
    const root = testRoot();
    let cage: RealCage;
    beforeAll(async () => {
      cage = await startRealCage({ level: 'low', root });
    });
    afterAll(async () => {
      await cage?.stop();
    });

    async function inSandbox(args: string[]): Promise<string> {
      const child = spawnBwrap(args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise((r) => child.on('close', r));
      return out;
    }
    const script = `unshare -U true; echo "U=$?"; unshare -Ur true; echo "Ur=$?"; perl -e '${probeProgram(DENIED_SYSCALLS).replace(/'/g, `'\\''`)}'`;

    it('the clipboard helper (xclip as a uid of its own beside the cage display) cannot make namespaces or call a denied syscall', async () => {
      const out = await inSandbox(clipboardHelperArgs(cage.driver.x11Dir, ['sh', '-c', script]));
      expect(out).toContain('U=1');
      expect(out).toContain('Ur=1');
      expectEveryCallDenied(parseProbe(out.split('\n').filter((l) => /^[\w-]+ (\d+|ok)$/.test(l)).join('\n')));
    });

    it('the file helper (in the cage home as its uid) cannot either', async () => {
      const out = await inSandbox(fileHelperSandboxArgs({ home: cage.paths.home, uid: cage.uid }, () => ['sh', '-c', script]));
      expect(out).toContain('U=1');
      expect(out).toContain('Ur=1');
      expectEveryCallDenied(parseProbe(out.split('\n').filter((l) => /^[\w-]+ (\d+|ok)$/.test(l)).join('\n')));
    });

  });
});
