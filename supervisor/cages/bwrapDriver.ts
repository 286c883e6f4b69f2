/**
 * The bwrap cage driver: one bubblewrap sandbox per level running TigerVNC Xvnc on a Unix socket,
 * a window manager and the configured apps.
 *
 * Isolation: own mount, PID, IPC, UTS, cgroup namespaces; every cage process runs as the cage's own
 * unprivileged uid with no capabilities (the session drops root before starting anything); network
 * namespace of its own unless the policy says `host`; `nat` gets outbound access through
 * slirp4netns with the host's loopback unreachable. The cage sees only its own home, its own VNC
 * socket directory and its own X socket directory; /usr read-only and a short list of /etc files.
 * Xvnc: no TCP port, no abstract X socket, VNC clipboard off, overrides off (DESIGN.md, Cages).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { geometryOf, type BwrapCagePolicy } from '../../shared/policy';
import type { CageDriver, CageExit, RunningCage } from './cageDriver';
import { requireBinary, findBinary } from './binaries';
import { probeRfb } from './rfbProbe';

export interface BwrapCagePaths {
  /** Persistent private home, bound at /home/cloison inside the cage. */
  home: string;
  /** Per-cage runtime directory (0700): VNC socket dir, X socket dir, session script. */
  run: string;
  /** The level's folder in the supervisor's shared media root, bound at ~/Media (USB devices). */
  media: string;
}

export function bwrapCagePaths(stateDir: string, runDir: string, level: string): BwrapCagePaths {
  return { home: join(stateDir, 'cages', level, 'home'), run: join(runDir, 'cages', level), media: join(mediaRootOf(runDir), level) };
}

/** Where the supervisor mounts USB devices, one folder per level. */
export function mediaRootOf(runDir: string): string {
  return join(runDir, 'media');
}

export interface BwrapDriverOptions {
  level: string;
  cage: BwrapCagePolicy;
  paths: BwrapCagePaths;
  /** Host uid (and gid) the cage's processes run as; one per level. */
  uid: number;
  startTimeoutMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** /etc entries a desktop session needs; everything else in /etc stays out of the cage. */
const ETC_ENTRIES = [
  'nsswitch.conf', 'hosts', 'host.conf', 'localtime', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d',
  'fonts', 'X11', 'xdg', 'alternatives', 'ssl', 'ca-certificates', 'mime.types', 'locale.alias', 'terminfo',
];

const CAGE_HOME = '/home/cloison';
const CAGE_USER = 'cloison';
const CAGE_MEDIA = `${CAGE_HOME}/Media`;
/** Debian's tty group: terminals chown their pty to it, which needs membership without CAP_CHOWN. */
const TTY_GID = 5;
const CAGE_VNC_DIR = '/run/cloison';
const CAGE_VNC_SOCKET = `${CAGE_VNC_DIR}/vnc.sock`;
const STDERR_TAIL_BYTES = 4096;
/** Exit codes of the generated session script. */
const SESSION_EXITS: Record<number, string> = {
  70: 'Xvnc did not create its X socket',
  71: 'Xvnc exited during start-up',
  72: 'Xvnc exited',
};

export class BwrapDriver implements CageDriver {
  constructor(private readonly options: BwrapDriverOptions) {}

  /** Host paths of this cage's VNC socket and X socket directory. */
  get vncSocket(): string {
    return join(this.options.paths.run, 'vnc', 'vnc.sock');
  }

  get x11Dir(): string {
    return join(this.options.paths.run, 'x11');
  }

  async start(): Promise<RunningCage> {
    const { level, cage } = this.options;
    const bwrap = requireBinary('bwrap');
    requireBinary('Xvnc');
    requireBinary('setpriv');
    for (const app of cage.apps) requireBinary(app[0] as string);
    const slirp = cage.network === 'nat' ? requireBinary('slirp4netns') : null;

    this.prepareDirectories();
    const args = this.bwrapArgs();
    // fd 3 carries bwrap's --info-fd JSON (the sandbox's child pid), needed to attach slirp4netns.
    const child = spawn(bwrap, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], detached: false });
    let stderrTail = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    const exited = new Promise<CageExit>((resolve) => {
      child.on('exit', (code, signal) => {
        // The reason is shown to the user: only supervisor-written words, never the cage's stderr.
        this.options.log?.('cage session ended', { level, code, signal, stderr: stderrTail.slice(-1000) });
        resolve({ reason: `cage session ended (${signal ?? `exit ${code}`})${code !== null && SESSION_EXITS[code] ? `: ${SESSION_EXITS[code]}` : ''}` });
      });
      child.on('error', (err) => resolve({ reason: `cannot start bwrap: ${err.message}` }));
    });

    let slirpChild: ChildProcess | null = null;
    const stop = async () => {
      slirpChild?.kill('SIGTERM');
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    };

    try {
      const innerPid = await readChildPid(child, exited);
      if (slirp) slirpChild = this.attachNat(slirp, innerPid);
      await this.waitForVnc(exited, () => stderrTail);
      this.options.log?.('cage running', { level, innerPid, network: cage.network });
      return { endpoint: { path: this.vncSocket }, innerPid, exited, stop };
    } catch (err) {
      await stop();
      throw err;
    }
  }

  private prepareDirectories(): void {
    const { paths } = this.options;
    mkdirSync(paths.home, { recursive: true, mode: 0o700 });
    chmodSync(paths.home, 0o700);
    mkdirSync(paths.run, { recursive: true, mode: 0o700 });
    chmodSync(paths.run, 0o700);
    for (const dir of [join(paths.run, 'vnc'), this.x11Dir]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync(paths.media, { recursive: true, mode: 0o755 });
    chmodSync(join(paths.run, 'vnc'), 0o700);
    chmodSync(this.x11Dir, 0o1777); // X wants a sticky world-writable dir; its parent (0700) keeps others out
    // Stale sockets from a crashed run would make the readiness check lie.
    rmSync(this.vncSocket, { force: true });
    rmSync(join(this.x11Dir, 'X0'), { force: true });
    writeFileSync(join(paths.run, 'session.sh'), this.sessionScript());
    chmodSync(join(paths.run, 'session.sh'), 0o555); // read by the cage's user, written only here
    writeFileSync(join(paths.run, 'resolv.conf'), 'nameserver 10.0.2.3\n', { mode: 0o444 });
    // The cage's own account database: its user only, nothing of the host's accounts.
    const { uid, level } = this.options;
    writeFileSync(join(paths.run, 'passwd'), `root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n${CAGE_USER}:x:${uid}:${uid}:Cloison ${level}:${CAGE_HOME}:/bin/bash\n`, { mode: 0o444 });
    writeFileSync(join(paths.run, 'group'), `root:x:0:\ntty:x:${TTY_GID}:\n${CAGE_USER}:x:${uid}:\n`, { mode: 0o444 });
    // The supervisor is a root daemon; run unprivileged (development), the cage keeps its caller's uid.
    if (process.getuid?.() === 0) {
      chownSync(paths.home, uid, uid);
      chownSync(join(paths.run, 'vnc'), uid, uid);
    }
  }

  /** The cage's session: Xvnc, then (once its X socket exists) the window manager and the apps. */
  sessionScript(): string {
    const { cage, level } = this.options;
    const { width, height } = geometryOf(cage);
    const xvnc = [
      'Xvnc', ':0',
      '-rfbunixpath', CAGE_VNC_SOCKET, '-rfbunixmode', '0600', '-rfbport', '-1',
      '-SecurityTypes', 'None',
      '-nolisten', 'tcp', '-nolisten', 'local',
      '-AllowOverride=', '-SendPrimary=0', '-SetPrimary=0', '-AcceptCutText=0', '-SendCutText=0',
      '-AcceptSetDesktopSize=0',
      '-geometry', `${width}x${height}`, '-depth', '24',
      '-desktop', `cloison-${level}`,
    ];
    // Start the apps once the window manager owns the screen, so it manages and focuses them.
    const wm = findBinary('openbox')
      ? `openbox 2>>"$HOME/.cloison-session.log" &
i=0
while ! xprop -root _NET_SUPPORTING_WM_CHECK 2>/dev/null | grep -q window && [ "$i" -lt 100 ]; do i=$((i + 1)); sleep 0.05; done
`
      : '';
    // Apps' messages go to a log in the cage's own home: cage-written text stays in the cage.
    const apps = cage.apps.map((argv) => `${argv.map(shellQuote).join(' ')} 2>>"$HOME/.cloison-session.log" &`).join('\n');
    const { uid } = this.options;
    return `#!/bin/sh
# Cloison cage session (generated by the supervisor; do not edit)
# Stage 1, as root inside the sandbox: become the cage's user, with no capability left at all.
if [ "$(id -u)" = 0 ]; then
  exec setpriv --reuid=${uid} --regid=${uid} --groups=${TTY_GID} --inh-caps=-all --bounding-set=-all --no-new-privs -- /bin/sh "$0"
fi
# Stage 2, as the cage's user.
${xvnc.map(shellQuote).join(' ')} &
xvnc=$!
i=0
while [ ! -S /tmp/.X11-unix/X0 ]; do
  i=$((i + 1)); [ "$i" -gt 200 ] && { echo "Xvnc did not create its X socket" >&2; exit 70; }
  kill -0 "$xvnc" 2>/dev/null || { echo "Xvnc exited during start-up" >&2; exit 71; }
  sleep 0.05
done
export DISPLAY=:0
${wm}${apps}
wait "$xvnc"
echo "Xvnc exited" >&2
exit 72
`;
  }

  bwrapArgs(): string[] {
    const { cage, paths, level } = this.options;
    // nat: slirp4netns's DNS forwarder; host: the host's own resolver; none: no resolver at all.
    const resolver = cage.network === 'nat' ? join(paths.run, 'resolv.conf') : cage.network === 'host' ? '/etc/resolv.conf' : null;
    return [
      '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
      ...(cage.network === 'host' ? [] : ['--unshare-net']),
      '--die-with-parent', '--new-session',
      '--hostname', `cloison-${level}`,
      '--ro-bind', '/usr', '/usr',
      ...mergedUsrLinks(),
      // Directories bwrap creates are 0700 by default; the cage's user must traverse them.
      '--proc', '/proc', '--dev', '/dev',
      '--perms', '1777', '--tmpfs', '/tmp', '--perms', '0755', '--tmpfs', '/run',
      '--perms', '0755', '--dir', '/etc', '--perms', '0755', '--dir', '/home', '--perms', '0755', '--dir', '/var',
      '--perms', '1777', '--dir', '/var/tmp',
      ...ETC_ENTRIES.flatMap((e) => ['--ro-bind-try', `/etc/${e}`, `/etc/${e}`]),
      ...(resolver ? ['--ro-bind-try', resolver, '/etc/resolv.conf'] : []),
      '--ro-bind', join(paths.run, 'passwd'), '/etc/passwd',
      '--ro-bind', join(paths.run, 'group'), '/etc/group',
      '--bind', paths.home, CAGE_HOME,
      // Read-only bind: the cage cannot create folders there; devices mounted below appear live.
      '--ro-bind', paths.media, CAGE_MEDIA,
      '--bind', join(paths.run, 'vnc'), CAGE_VNC_DIR,
      '--bind', this.x11Dir, '/tmp/.X11-unix',
      '--ro-bind', join(paths.run, 'session.sh'), '/run/cloison-session.sh',
      '--clearenv',
      '--setenv', 'HOME', CAGE_HOME, '--setenv', 'USER', CAGE_USER, '--setenv', 'LOGNAME', CAGE_USER,
      '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin', '--setenv', 'LANG', 'C.UTF-8', '--setenv', 'TERM', 'xterm', '--setenv', 'SHELL', '/bin/bash',
      '--setenv', 'CLOISON_LEVEL', level,
      '--chdir', CAGE_HOME,
      '--info-fd', '3',
      '/bin/sh', '/run/cloison-session.sh',
    ];
  }

  private attachNat(slirp: string, innerPid: number): ChildProcess {
    // --disable-host-loopback: 10.0.2.2 does not lead to the host's 127.0.0.1 (supervisor included).
    const child = spawn(slirp, ['--configure', '--mtu=65520', '--disable-host-loopback', String(innerPid), 'tap0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.on('error', (err) => this.options.log?.('slirp4netns failed', { level: this.options.level, error: err.message }));
    return child;
  }

  private async waitForVnc(exited: Promise<CageExit>, stderr: () => string): Promise<void> {
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 20_000);
    let gone: CageExit | null = null;
    void exited.then((e) => (gone = e));
    while (Date.now() < deadline) {
      if (gone) throw new Error((gone as CageExit).reason);
      if (existsSync(this.vncSocket)) {
        try {
          await probeRfb({ path: this.vncSocket }, 1000);
          return;
        } catch {
          /* not ready yet */
        }
      }
      await sleep(50);
    }
    this.options.log?.('cage start timed out', { level: this.options.level, stderr: stderr().slice(-1000) });
    throw new Error(`cage did not start its VNC server within ${this.options.startTimeoutMs ?? 20_000} ms`);
  }
}

function readChildPid(child: ChildProcess, exited: Promise<CageExit>): Promise<number> {
  return new Promise((resolve, reject) => {
    const info = child.stdio[3] as NodeJS.ReadableStream | null;
    if (!info) return reject(new Error('bwrap info pipe missing'));
    let text = '';
    info.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      const m = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((e) => reject(new Error(e.reason)));
  });
}

/** Debian has merged /usr: /bin, /lib… are links into /usr. Reproduce them inside the cage. */
function mergedUsrLinks(): string[] {
  const out: string[] = [];
  for (const name of ['bin', 'sbin', 'lib', 'lib64', 'lib32', 'libx32']) {
    if (existsSync(`/usr/${name}`)) out.push('--symlink', `usr/${name}`, `/${name}`);
  }
  return out;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\-.,:/=+@%]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
