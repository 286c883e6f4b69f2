/**
 * The one way into a cage: what the supervisor starts there is a true cage process (Seccomp 2,
 * NoNewPrivs, no capability, the cage's uid and control group), read from the host's /proc; the
 * channel is the launcher's alone; replies are untrusted input.
 */
import { readlinkSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRealCage, testRoot, type RealCage } from '../testing/realCage';
import { cageProcess, hostPidOf, processesInCage } from '../testing/cageProcesses';
import { waitFor } from '../testing/waitFor';
import { connectCageLauncher, launch, launched, onLaunchedExit, run, stopLaunched } from './cageLauncher';

function socketTargets(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    });
  } catch {
    return [];
  }
}

describe('cage launcher, in a real cage', () => {
  let cage: RealCage;
  beforeAll(async () => {
    cage = await startRealCage({ level: 'launch', apps: [['sleep', '777']] });
  }, 60_000);
  afterAll(async () => {
    await cage?.stop();
  });

  it('starts a program that is a true cage process: filter, no_new_privs, no capability, the cage uid and cgroup', async () => {
    const program = await launch(cage.cage, { argv: ['sleep', '600'] });
    const hostPid = hostPidOf(cage.cage.innerPid!, program.pid);
    expect(hostPid).not.toBeNull();
    const p = cageProcess(hostPid!)!;
    const xvnc = processesInCage(cage.cage.innerPid!).find((q) => q.command.startsWith('Xvnc'))!;
    expect({ command: p.command, seccomp: p.seccomp, noNewPrivs: p.noNewPrivs, capEff: p.capEff, uid: p.uid }).toEqual({ command: 'sleep 600', seccomp: 2, noNewPrivs: 1, capEff: '0000000000000000', uid: cage.uid });
    expect(p.cgroup).toBe(xvnc.cgroup);
    expect(p.cgroup).toMatch(/cloison-launch-|cloison\/launch-/);
    expect(launched(cage.cage).map((l) => l.argv)).toContainEqual(['sleep', '600']);

    const ended = new Promise<number>((resolve) => onLaunchedExit(cage.cage, (l) => resolve(l.pid)));
    expect(await stopLaunched(cage.cage, program.pid)).toBe(true);
    expect(await ended).toBe(program.pid);
    expect(launched(cage.cage).map((l) => l.pid)).not.toContain(program.pid);
  });

  it('starts the configured apps the same way: true cage processes, listed as launched', async () => {
    await waitFor(() => launched(cage.cage).some((l) => l.argv.join(' ') === 'sleep 777'), 'the configured app', 10_000);
    const app = launched(cage.cage).find((l) => l.argv.join(' ') === 'sleep 777')!;
    const p = cageProcess(hostPidOf(cage.cage.innerPid!, app.pid)!)!;
    expect([p.command, p.seccomp, p.noNewPrivs, p.capEff, p.uid]).toEqual(['sleep 777', 2, 1, '0000000000000000', cage.uid]);
  });

  it('leaves no process in the cage\'s namespaces without the filter, outside its cgroup or with a capability', async () => {
    await launch(cage.cage, { argv: ['sh', '-c', 'sleep 301 & sleep 301'] });
    const processes = processesInCage(cage.cage.innerPid!);
    const session = processes.find((p) => p.command.startsWith('Xvnc'))!;
    expect(processes.length).toBeGreaterThanOrEqual(6); // bwrap's init, the session, the launcher, Xvnc, the app, the shell and its sleeps
    for (const p of processes) {
      expect({ command: p.command, seccomp: p.seccomp, noNewPrivs: p.noNewPrivs, capEff: p.capEff, cgroup: p.cgroup }).toEqual({ command: p.command, seccomp: 2, noNewPrivs: 1, capEff: '0000000000000000', cgroup: session.cgroup });
      if (p.innerPid !== 1) expect(p.uid, p.command).toBe(cage.uid); // 1: bwrap's init (uid 0, no capability)
    }
  });

  it('runs a command to its end with its input, output and exit code, in the cage', async () => {
    const r = await run(cage.cage, { argv: ['sh', '-c', 'cat; echo "$HOME $DISPLAY $(id -u)" >&2; grep Seccomp: /proc/self/status; exit 3'], input: 'bonjour\n' });
    expect(r).toEqual({ stdout: 'bonjour\nSeccomp:\t2\n', stderr: `/home/cloison :0 ${cage.uid}\n`, code: 3, signal: null });
  });

  it('kills a command that outlives its time, with what it started in the background', async () => {
    const r = await run(cage.cage, { argv: ['sh', '-c', 'sleep 300 & echo started; wait'], timeoutMs: 500 });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('started\n');
    expect(processesInCage(cage.cage.innerPid!).filter((p) => p.command === 'sleep 300')).toEqual([]);
  });

  it('says why a program cannot start', async () => {
    await expect(launch(cage.cage, { argv: ['no-such-program-here'] })).rejects.toThrow(/cannot start no-such-program-here: ENOENT/);
    await expect(launch(cage.cage, { argv: ['sh'], env: { 'BAD=NAME': 'x' } })).rejects.toThrow(/bad environment entry/);
    await expect(launch(cage.cage, { argv: ['sh', 'a\0b'] })).rejects.toThrow(/holds NUL/);
  });

  it('hands its channel to the launcher alone: no other cage process holds it', () => {
    const processes = processesInCage(cage.cage.innerPid!);
    const launcher = processes.find((p) => p.command.includes('cloison-launcher.mjs'))!;
    expect(launcher).toBeDefined();
    // Its connection to the supervisor's socket (launcherEndpoint.ts); its standard input is /dev/null.
    const channels = socketTargets(launcher.pid).filter((t) => t.startsWith('socket:'));
    expect(channels.length).toBeGreaterThan(0);
    expect(readlinkSync(`/proc/${launcher.pid}/fd/0`)).toBe('/dev/null');
    for (const p of processes.filter((q) => q.pid !== launcher.pid)) for (const channel of channels) expect(socketTargets(p.pid), p.command).not.toContain(channel);
  });

  it('a cage that kills its own launcher only denies itself programs, with a clear error', async () => {
    await run(cage.cage, { argv: ['sh', '-c', 'kill -9 $PPID'] }).catch(() => undefined);
    await waitFor(() => !cage.cage.launcher!.alive, 'the launcher to be gone', 15_000);
    await expect(launch(cage.cage, { argv: ['sleep', '1'] })).rejects.toThrow(/cage "launch": its launcher has stopped; programs cannot start there until it restarts/);
  });
});

describe('cage launcher, across restarts', () => {
  it('starts even when the cage left its session log unwritable', async () => {
    const root = testRoot();
    const first = await startRealCage({ level: 'relaunch', root });
    await first.sh('rm -f "$HOME/.cloison-session.log"; mkdir "$HOME/.cloison-session.log"');
    await first.stop();
    const again = await startRealCage({ level: 'relaunch', root });
    try {
      expect((await again.sh('echo started')).stdout).toBe('started\n');
      expect((await launch(again.cage, { argv: ['sleep', '1'] })).pid).toBeGreaterThan(1);
    } finally {
      await again.stop();
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('cage launcher replies are untrusted', () => {
  async function pair(): Promise<{ ours: Socket; theirs: Socket; close(): void }> {
    const dir = testRoot('cloison-lch-');
    const path = join(dir, 's');
    const server = createServer();
    await new Promise<void>((r) => server.listen(path, r));
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    const ours = connect(path);
    const theirs = await accepted;
    return { ours, theirs, close: () => (server.close(), rmSync(dir, { recursive: true, force: true })) };
  }

  it.each([
    ['not JSON', 'garbage\n'],
    ['a reply with fields of its own', '{"id":1,"pid":5,"extra":true}\n'],
    ['an output that is not base64', '{"id":1,"code":0,"signal":null,"stdout":"<>","stderr":""}\n'],
  ])('drops the launcher on %s and says so', async (_what, bytes) => {
    const { ours, theirs, close } = await pair();
    const launcher = connectCageLauncher(ours, 'hostile');
    theirs.once('data', () => theirs.write(bytes));
    await expect(launcher.run({ argv: ['true'] })).rejects.toThrow(/cage "hostile": its launcher sent a malformed reply/);
    expect(launcher.alive).toBe(false);
    theirs.destroy();
    close();
  });

  it('drops the launcher on a reply line past its size limit, without holding it', async () => {
    const { ours, theirs, close } = await pair();
    const launcher = connectCageLauncher(ours, 'hostile');
    const answer = launcher.launch({ argv: ['true'] });
    const chunk = Buffer.alloc(1024 * 1024, 'A');
    for (let i = 0; i < 4; i++) theirs.write(chunk);
    await expect(answer).rejects.toThrow(/oversized reply/);
    theirs.destroy();
    close();
  });

  it('ignores exits of programs it never launched and answers to requests never asked', async () => {
    const { ours, theirs, close } = await pair();
    const launcher = connectCageLauncher(ours, 'hostile');
    theirs.once('data', (d: Buffer) => {
      const { id } = JSON.parse(d.toString()) as { id: number };
      theirs.write(`{"event":"exit","pid":77,"code":0,"signal":null}\n{"id":999,"pid":3}\n{"id":${id},"pid":42}\n`);
    });
    expect((await launcher.launch({ argv: ['xterm'] })).pid).toBe(42);
    expect(launcher.launched().map((l) => l.pid)).toEqual([42]);
    theirs.destroy();
    close();
  });
});
