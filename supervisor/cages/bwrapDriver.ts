/**
 * The bwrap cage driver: one bubblewrap sandbox per level running TigerVNC Xvnc on a Unix socket,
 * a window manager and the configured apps.
 *
 * Isolation: own mount, PID, IPC, UTS, cgroup namespaces; every cage process runs as the cage's own
 * unprivileged uid with no capabilities (the session drops root before starting anything) under
 * Cloison's syscall filter; network namespace of its own unless the policy says `host`; `nat` gets
 * outbound access through a sandboxed slirp4netns with nothing on the host reachable. The cage sees
 * only its own home, its own VNC socket directory and its own X socket directory; /usr read-only
 * and a short list of /etc files. Everything it can write is noexec (cageMounts.ts); it runs in a
 * control group of its own with the policy's limits (cageCgroup.ts).
 * Xvnc: no TCP port, no abstract X socket, VNC clipboard off, overrides off (docs/design.md, Cages).
 *
 * What the cage owns it can change: the folders of its sockets become root's once Xvnc has bound
 * them, and every connection to its VNC socket checks the peer's uid and pid namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, statfsSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Locale } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import { cageStartDefinition, geometryOf, isWireguard, type BwrapCagePolicy } from '../../shared/policy';
import { TunnelWatch } from '../network/tunnelWatch';
import { readWireguardConfig } from '../policy/wireguardConfig';
import { openTunnel, type Tunnel } from '../network/wireguardTunnel';
import { spawnBwrap } from '../sandbox/bwrapSpawn';
import { sandboxSetUp } from '../sandbox/sandboxSetUp';
import { peerCredentials, pidNamespaceOf } from '../sandbox/peerCredentials';
import type { CageDriver, CageExit, CageNotice, RunningCage } from './cageDriver';
import { requireBinary, findBinary } from '../system/binaries';
import { CAGE_LAUNCHER_DIR, launcherDir, openLauncherEndpoint, prepareLauncherDir, type LauncherEndpoint } from './launcherEndpoint';
import { startSessionApps, WINDOW_MANAGER_ARGV } from './sessionApps';
import { quitCageApps } from './appQuit';
import { seedOfficeProfile } from './officeFirstStart';
import { createCageCgroup, type CageCgroup } from './cageCgroup';
import { cageUidProblemAtStart } from '../policy/cageUidAccounts';
import { lockSocketFolders, mountCageFilesystems, scratchDir, unmountCageFilesystems } from './cageMounts';
import { natResolvers } from './natResolvers';
import { probeRfb } from './rfbProbe';
import { CAGE_RECORD_VERSION, cageFingerprint, isSameProcess, processIdentity, readCageRecord, removeCageRecord, updateCageRecord, writeCageRecord, type CageRecord, type ProcessIdentity } from './cageRecord';
import { adoptBwrapCage, type Adoption } from './cageAdoption';
import { CAGE_PULSE_SOCKET, CAGE_SOUND_DIR, cageSoundSession, prepareCageSound } from './cageSound';
import { cageAppSettingsArgs, writeCageAppSettings } from './cageAppSettings';
import { cageLanguageArgs, installedLocales } from './cageLanguage';
import { CAGE_XRESOURCES, CAGE_XRESOURCES_PATH } from './cageXResources';
import { cageMimeAppsArgs, levelBrowser, writeCageMimeApps } from './cageMimeApps';
import { openSandboxStartLog, sandboxStartLogHead } from './sandboxStartLog';

export interface BwrapCagePaths {
  /** Persistent private home, bound at /home/cloison inside the cage: the mount of `homeImage`. */
  home: string;
  /** The home's ext4 image (root's, 0600), beside the home. */
  homeImage: string;
  /** Per-cage runtime directory (0700): session script, account files, the scratch tmpfs. */
  run: string;
  /** The cage's tmpfs: /tmp, /var/tmp, /dev/shm and its socket folders. */
  scratch: string;
  /** The level's folder in the supervisor's shared media root, bound at ~/Media (USB devices). */
  media: string;
  /** The supervisor's folder of the cage's sound FIFOs (root's), bound read-only. */
  sound: string;
}

export function bwrapCagePaths(stateDir: string, runDir: string, level: string): BwrapCagePaths {
  const cageState = join(stateDir, 'cages', level);
  const run = join(runDir, 'cages', level);
  return { home: join(cageState, 'home'), homeImage: join(cageState, 'home.img'), run, scratch: join(run, 'scratch'), media: join(mediaRootOf(runDir), level), sound: join(run, 'sound') };
}

/** Where the supervisor mounts USB devices, one folder per level. */
export function mediaRootOf(runDir: string): string {
  return join(runDir, 'media');
}

/** What a cage's bwrap adds for its level's smart card (supervisor/smartcard's cageCardArgs). */
export interface CageCardArgs {
  bwrapArgs: readonly string[];
}

export interface BwrapDriverOptions {
  level: string;
  cage: BwrapCagePolicy;
  paths: BwrapCagePaths;
  /** Host uid (and gid) the cage's processes run as; one per level. */
  uid: number;
  startTimeoutMs?: number;
  /** Where the host's resolvers are read for a `nat` cage (tests point it at their own file). */
  hostResolvConf?: string;
  /** How often the cage's limits are checked while it runs. */
  limitPollMs?: number;
  /** A sound server of the cage's own (null: no sound), with a microphone source or not. */
  sound?: { micAllowed: boolean } | null;
  /**
   * The level's smart card endpoint (supervisor/smartcard): its proxy's socket folder bound in, by
   * these bwrap arguments; a promise is awaited just before bwrap starts (the cage manager's card
   * client, made in the background, is awaited only if not made yet).
   */
  smartcard?: CageCardArgs | null | Promise<CageCardArgs | null>;
  /**
   * For `geometry: auto`: the size its Xvnc starts at, asked at each start (its frame's, when the
   * supervisor knows it: cageScreens.ts); null, or absent, for the policy's start size.
   */
  startScreen?: () => { width: number; height: number } | null;
  /**
   * The level's desktop tone (#rrggbb, screen/xScreen.ts's desktopTone), painted by the cage's own
   * session as soon as its X server takes clients: before the first frame any viewer reads, and
   * without an X helper sandbox after the start. The cage could paint its own root anyway.
   */
  desktopColour?: string;
  /** The language the cage's applications speak: the shell's (policy/shellLocale.ts). French unless set. */
  locale?: Locale;
  /** Xvnc's update clock and comparison (the benchmarks compare others); XVNC_UPDATES unless set. */
  xvncUpdates?: string[];
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Facts for the audit journal (a process posing as the cage's launcher). */
  journal?: (kind: string, fields: Record<string, string>) => void;
}

/**
 * How Xvnc paces its updates. It sends what changed on a frame clock: the first tick half a frame
 * after a change, then one per frame while changes continue (TigerVNC's VNCServerST) — so at its
 * default 60 Hz a typed glyph waits 8 ms before it even leaves. At 240 Hz it waits 2 ms; under
 * constant motion the frames are smaller and more frequent for about the same CPU per second, and
 * at idle the clock stops. bench/RESULTS.md (key to glyph, motion) has the figures.
 */
export const XVNC_UPDATES = ['-FrameRate', '240'];

/** A cage held at its task limit this many checks in a row is stopped (a fork bomb never ends by itself). */
const TASK_LIMIT_CHECKS = 5;
const MiB = 2 ** 20;

/** /etc entries a desktop session needs; everything else in /etc stays out of the cage. */
const ETC_ENTRIES = [
  'nsswitch.conf', 'hosts', 'host.conf', 'localtime', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d',
  'fonts', 'X11', 'xdg', 'alternatives', 'ssl', 'ca-certificates', 'mime.types', 'locale.alias', 'terminfo',
  // LibreOffice's registry and printer settings (/usr/lib/libreoffice/share links there); paper size.
  'libreoffice', 'papersize',
];

const CAGE_HOME = '/home/cloison';
const CAGE_USER = 'cloison';
const CAGE_MEDIA = `${CAGE_HOME}/Media`;
/** Debian's tty group: terminals chown their pty to it, which needs membership without CAP_CHOWN. */
const TTY_GID = 5;
const CAGE_VNC_DIR = '/run/cloison';
export const CAGE_VNC_SOCKET = `${CAGE_VNC_DIR}/vnc.sock`;
/** The launcher itself (cageLauncher.ts); it connects to the supervisor (launcherEndpoint.ts). */
const CAGE_LAUNCHER = '/run/cloison-launcher.mjs';
/** Exit codes of the generated session script. */
const SESSION_EXITS: Record<number, string> = {
  70: 'no FIFO for the X server\'s readiness',
  71: 'Xvnc exited during start-up',
  72: 'Xvnc exited',
};

export class BwrapDriver implements CageDriver {
  /** What the last session script started its Xvnc at and painted (the running cage says so). */
  private startedScreen: { width: number; height: number } | null = null;
  private paintedColour: string | null = null;

  constructor(private readonly options: BwrapDriverOptions) {}

  /** Host paths of this cage's VNC socket and X socket directory. */
  get vncSocket(): string {
    return join(scratchDir(this.options.paths.scratch, 'vnc'), 'vnc.sock');
  }

  get x11Dir(): string {
    return scratchDir(this.options.paths.scratch, 'x11');
  }

  async start(): Promise<RunningCage> {
    const { level, cage, paths, uid } = this.options;
    requireBinary('bwrap');
    requireBinary('Xvnc');
    requireBinary('setpriv');
    for (const app of cage.apps) if (app.autostart) requireBinary(app.exec[0]!);
    const slirp = cage.network === 'nat' ? requireBinary('slirp4netns') : null;
    if (process.getuid?.() !== 0) throw new Error('bwrap cages need the supervisor to run as root (mounts, control groups, per-level uids)');
    // The host's locales, read once for the process's life and off the loop, beside what follows (cageLanguage.ts).
    const locales = installedLocales();
    // The uid nobody's still (the policy's reading checked it; an account may have been made since).
    const held = await cageUidProblemAtStart(uid);
    if (held) throw new Error(`the cage of "${level}" cannot start: uid ${uid}${held}`);

    this.prepareDirectories();
    const sound = this.options.sound ? prepareCageSound(paths.sound, uid, this.options.sound.micAllowed) : null;
    if (this.options.sound && !sound) this.options.log?.('cage without sound: pulseaudio not found (install pulseaudio)', { level });
    await mountCageFilesystems(paths, uid, cage.limits);
    // Named per level and run directory: two supervisors (tests, a shell restart) never share a group.
    const made = createCageCgroup(`${level}-${createHash('sha256').update(paths.run).digest('hex').slice(0, 12)}`, cage.limits);
    const cgroup: CageCgroup | null = made.cgroup;
    if (!made.cgroup) this.options.log?.('cage runs without resource limits', { level, reason: made.reason });
    const counters0 = cgroup?.counters() ?? { oomKills: 0, taskLimitHits: 0 };

    // fd 3 carries bwrap's --info-fd JSON (the sandbox's child pid), needed to attach slirp4netns.
    // stderr: bwrap's, setpriv's and the group join's own failures, in a root-only file
    // (sandboxStartLog.ts); the session script sends the cage's own text to /dev/null.
    // Its card's arguments, the last thing awaited (the manager's card client may be being made); a failure is no card.
    const card = await Promise.resolve(this.options.smartcard).catch(() => null) ?? null;
    const installed = await locales;
    const startLog = openSandboxStartLog(paths.run);
    let child: ChildProcess;
    try {
      child = spawnBwrap(this.bwrapArgs(sound !== null, card, installed), { stdio: ['ignore', 'ignore', startLog, 'pipe'], ...(cgroup ? { prefix: cgroup.joinPrefix } : {}) });
    } finally {
      closeSync(startLog);
    }
    let launcherEndpoint: LauncherEndpoint | null = null;
    let stoppedFor: string | null = null;
    const sessionEnded = new Promise<CageExit>((resolve) => {
      child.on('exit', (code, signal) => {
        // The reason is shown to the user: only supervisor-written words, never the cage's stderr,
        // which stays out of the supervisor's log too (a channel from the cage to administrators).
        // An exit the script does not define is the sandbox set-up's own (bwrap, setpriv): its words.
        const setUp = code !== null && !SESSION_EXITS[code] ? { setUpStderr: sandboxStartLogHead(paths.run) } : {};
        this.options.log?.('cage session ended', { level, code, signal, ...setUp });
        const oom = cgroup && cgroup.counters().oomKills > counters0.oomKills ? `; its memory limit (${Math.round(cage.limits.memoryBytes / MiB)} MiB) was reached` : '';
        const known = code !== null && SESSION_EXITS[code] ? `: ${SESSION_EXITS[code]}` : '';
        resolve({ reason: stoppedFor ?? `cage session ended (${signal ?? `exit ${code}`})${known}${oom}` });
      });
      child.on('error', (err) => resolve({ reason: `cannot start bwrap: ${err.message}` }));
    });

    let slirpChild: ChildProcess | null = null;
    const notices = new EventEmitter<{ notice: [CageNotice] }>();
    let watch: NodeJS.Timeout | null = null;
    const tunnelWatch = isWireguard(cage.network) ? new TunnelWatch(level, '') : null;
    let tunnel: Tunnel | null = null;
    // Whatever ended the session, nothing of it stays: its network helper, its group, its mounts.
    const exited = sessionEnded.then(async (exit) => {
      if (watch) clearInterval(watch);
      launcherEndpoint?.close();
      removeCageRecord(paths.run);
      slirpChild?.kill('SIGTERM');
      tunnelWatch?.stop();
      await tunnel?.close();
      cgroup?.remove();
      await unmountCageFilesystems(paths).catch((err: Error) => this.options.log?.('cage filesystems not unmounted', { level, error: err.message }));
      return exit;
    });
    let sandboxInit: ProcessIdentity | null = null;
    const stop = async (reason?: string) => {
      stoppedFor ??= reason ?? null;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      // Without --die-with-parent bwrap's end no longer ends the sandbox: its first process does.
      if (sandboxInit) killSandbox(sandboxInit);
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    };

    try {
      const innerPid = await readChildPid(child, sessionEnded);
      sandboxInit = processIdentity(innerPid);
      const sandbox = pidNamespaceOf(innerPid);
      if (!sandbox) throw new Error('the cage sandbox ended during start-up');
      launcherEndpoint = await this.openLauncher(sandbox, null, true);
      // Once Xvnc has answered, only that very process may serve the socket (its pid and start time).
      let xvnc: ProcessIdentity | null = null;
      const verifyPeer = (socket: Socket) => {
        const pid = this.verifyPeer(socket, sandbox, xvnc);
        xvnc ??= processIdentity(pid);
      };
      // Nothing touches the sandbox's loopback before bwrap has set it up (sandboxSetUp.ts); a
      // sandbox that never gets there fails below with its reason.
      const setUp = slirp || tunnelWatch ? sandboxSetUp(innerPid, sessionEnded, this.options.startTimeoutMs ?? 20_000) : Promise.resolve(false);
      if (slirp && (await setUp)) slirpChild = this.attachNat(slirp, innerPid, cgroup);
      // The tunnel comes up beside the session; until it does (or if it never does) the cage has no route.
      if (tunnelWatch) void this.attachTunnel(innerPid, tunnelWatch, cgroup, setUp).then((t) => (tunnel = t));
      await this.waitForVnc(sessionEnded, verifyPeer);
      // From now on the cage cannot touch the socket the gateway connects to.
      lockSocketFolders(paths.scratch);
      this.checkSocketNode();
      watch = this.watchLimits(cgroup, counters0, notices, (reason) => void stop(reason));
      // Started before Xvnc, the launcher has connected by now: its identity goes in the record.
      await launcherEndpoint.connected(3000);
      this.record({ child, innerPid, sandbox, xvnc, cgroup, slirp: slirpChild, sound, launcher: launcherEndpoint.pinned, tunnel });
      this.options.log?.('cage running', { level, innerPid, network: cage.network, limits: cgroup ? `cgroup v${cgroup.version}` : 'none' });
      const launcher = launcherEndpoint.launcher;
      const sessionLog = (msg: string, fields?: Record<string, unknown>) => this.options.log?.(msg, { level, ...fields });
      // LibreOffice's profile seeded (no greeting at its first start) while the session is waited
      // for, then the autostarted apps.
      const seeded = seedOfficeProfile(launcher, cage.apps).catch((err: Error) => sessionLog('LibreOffice profile not seeded', { error: err.message }));
      void startSessionApps(launcher, cage.apps.filter((app) => app.autostart).map((app) => app.exec), findBinary('openbox') !== null, sessionLog, seeded);
      return {
        endpoint: { path: this.vncSocket },
        innerPid,
        screen: this.startedScreen,
        desktopColour: this.paintedColour,
        exited,
        stop: () => stop(),
        quitApps: (timeoutMs) => quitCageApps(launcher, timeoutMs),
        verifyPeer,
        launcher,
        onNotice: (l) => notices.on('notice', l),
        ...(sound ? { sound: { out: sound.out, mic: sound.mic } } : {}),
        ...(tunnelWatch ? { tunnel: { current: () => tunnelWatch.current, onChange: (l: Parameters<typeof tunnelWatch.on<'change'>>[1]) => tunnelWatch.on('change', l) } } : {}),
      };
    } catch (err) {
      await stop();
      throw err;
    }
  }

  /**
   * The peer must be this cage's uid, in this cage's pid namespace: its own Xvnc, nothing else; and
   * once that Xvnc is known, that very process (a second server of the cage's user, in or out of
   * the cage, never passes for it). Returns the peer's pid.
   */
  verifyPeer(socket: Socket, sandbox: string, xvnc: ProcessIdentity | null): number {
    const peer = peerCredentials(socket);
    if (peer.uid !== this.options.uid || pidNamespaceOf(peer.pid) !== sandbox || (xvnc && (peer.pid !== xvnc.pid || !isSameProcess(xvnc)))) {
      throw new CloisonError('CAGE_UNAVAILABLE', `the VNC socket of cage "${this.options.level}" is not served by that cage's Xvnc (peer uid ${peer.uid}, pid ${peer.pid})`);
    }
    return peer.pid;
  }

  /** What the cage was started from: a cage found running with another fingerprint restarts. */
  get fingerprint(): string {
    const { cage, uid, sound, level } = this.options;
    return cageFingerprint({ level, cage: cageStartDefinition(cage), uid, sound: sound ?? null });
  }

  /** A cage of this level found running at start (left by a supervisor that ended): adopted or refused. */
  adopt(log?: (msg: string, fields?: Record<string, unknown>) => void): Promise<Adoption> {
    return adoptBwrapCage(this, this.options, log);
  }

  /**
   * The socket the cage's launcher connects to (launcherEndpoint.ts): at start, and again for a
   * re-adopted cage, where only the recorded launcher (`pinned`) may connect.
   */
  openLauncher(pidNamespace: string, pinned: ProcessIdentity | null, firstComer = false): Promise<LauncherEndpoint> {
    const { level, uid, paths } = this.options;
    return openLauncherEndpoint({
      level,
      uid,
      runFolder: paths.run,
      pidNamespace,
      pinned,
      firstComer,
      // Known only now (it connected late): the record, if written already, names it too.
      onPinned: (launcher) => {
        const record = readCageRecord(paths.run);
        if (record && !('unreadable' in record) && record.launcher === null) writeCageRecord(paths.run, { ...record, launcher });
      },
      onRefused: (reason, peer) => this.options.journal?.('cage.launcher', { level, decision: 'refused', reason, peerPid: String(peer.pid), peerUid: String(peer.uid) }),
      ...(this.options.log ? { log: this.options.log } : {}),
    });
  }

  /** Keeps what a later supervisor needs to find this cage again and check it (cageRecord.ts). */
  private record(running: { child: ChildProcess; innerPid: number; sandbox: string; xvnc: ProcessIdentity | null; cgroup: CageCgroup | null; slirp: ChildProcess | null; sound: { out: string; mic: string | null } | null; launcher: ProcessIdentity | null; tunnel: Tunnel | null }): void {
    const bwrap = running.child.pid ? processIdentity(running.child.pid) : null;
    const inner = processIdentity(running.innerPid);
    const slirp = running.slirp?.pid ? processIdentity(running.slirp.pid) : null;
    if (!bwrap || !inner || !running.xvnc) {
      this.options.log?.('cage not recorded: it will not outlive this supervisor', { level: this.options.level });
      return;
    }
    const record: CageRecord = {
      version: CAGE_RECORD_VERSION,
      level: this.options.level,
      uid: this.options.uid,
      fingerprint: this.fingerprint,
      bwrap,
      inner,
      xvnc: running.xvnc,
      pidNamespace: running.sandbox,
      cgroup: running.cgroup ? { version: running.cgroup.version, dirs: running.cgroup.dirs } : null,
      slirp,
      launcher: running.launcher,
      tunnel: running.tunnel ? tunnelRecord(running.tunnel) : null,
      sound: running.sound ? { out: running.sound.out, mic: running.sound.mic } : null,
      startedAt: new Date().toISOString(),
    };
    writeCageRecord(this.options.paths.run, record);
  }

  private checkSocketNode(): void {
    const st = lstatSync(this.vncSocket);
    if (!st.isSocket() || st.uid !== this.options.uid) throw new Error(`cage "${this.options.level}" replaced its VNC socket during start-up`);
  }

  /** Turns the cage's control group counters and its home's free space into notices. */
  watchLimits(cgroup: CageCgroup | null, start: { oomKills: number; taskLimitHits: number }, notices: EventEmitter<{ notice: [CageNotice] }>, stop: (reason: string) => void): NodeJS.Timeout {
    const { limits } = this.options.cage;
    let last = start;
    let atTaskLimit = 0;
    let homeFull = false;
    const timer = setInterval(() => {
      const now = cgroup?.counters() ?? last;
      if (now.oomKills > last.oomKills) {
        notices.emit('notice', { limit: 'memory', message: `memory limit (${Math.round(limits.memoryBytes / MiB)} MiB) reached: the kernel stopped a program in this cage` });
      }
      atTaskLimit = now.taskLimitHits > last.taskLimitHits ? atTaskLimit + 1 : 0;
      if (atTaskLimit === 1) notices.emit('notice', { limit: 'tasks', message: `task limit (${limits.tasks}) reached: new programs cannot start in this cage` });
      if (atTaskLimit >= TASK_LIMIT_CHECKS) stop(`task limit (${limits.tasks}) held for ${TASK_LIMIT_CHECKS} checks in a row: the cage was stopped and restarts`);
      last = now;
      const full = homeIsFull(this.options.paths.home);
      if (full && !homeFull) notices.emit('notice', { limit: 'home', message: `home full (${Math.round(limits.homeBytes / MiB)} MiB): programs in this cage cannot save` });
      if (!full && homeFull) notices.emit('notice', { limit: 'home', message: '' }); // room again
      homeFull = full;
    }, this.options.limitPollMs ?? 1000);
    timer.unref();
    return timer;
  }

  private prepareDirectories(): void {
    const { paths, cage } = this.options;
    mkdirSync(paths.run, { recursive: true, mode: 0o700 });
    chmodSync(paths.run, 0o700);
    mkdirSync(paths.media, { recursive: true, mode: 0o755 });
    prepareLauncherDir(paths.run);
    writeFileSync(join(paths.run, 'session.sh'), this.sessionScript());
    chmodSync(join(paths.run, 'session.sh'), 0o555); // read by the cage's user, written only here
    writeCageAppSettings(paths.run, this.options.locale ?? 'fr');
    writeFileSync(join(paths.run, 'xresources'), CAGE_XRESOURCES, { mode: 0o444 });
    // The level's default applications (cageMimeApps.ts), from the apps its policy gives it.
    writeCageMimeApps(paths.run, cage.apps);
    if (cage.network === 'nat') {
      const dns = natResolvers(cage.dns, this.options.hostResolvConf);
      if (dns.warning) this.options.log?.('nat cage without resolver', { level: this.options.level, reason: dns.warning });
      writeFileSync(join(paths.run, 'resolv.conf'), dns.resolvers.map((r) => `nameserver ${r}\n`).join(''), { mode: 0o444 });
    }
    if (isWireguard(cage.network)) {
      // Resolvers inside the tunnel only (the configuration checks they are): none outside it.
      let dns: string[] = [];
      try {
        dns = readWireguardConfig(cage.network.config).dns;
      } catch {
        /* the tunnel fails with the reason; no resolver either */
      }
      writeFileSync(join(paths.run, 'resolv.conf'), dns.map((r) => `nameserver ${r}\n`).join(''), { mode: 0o444 });
    }
    // The cage's own account database: its user only, nothing of the host's accounts.
    const { uid, level } = this.options;
    writeFileSync(join(paths.run, 'passwd'), `root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n${CAGE_USER}:x:${uid}:${uid}:Cloison ${level}:${CAGE_HOME}:/bin/bash\n`, { mode: 0o444 });
    writeFileSync(join(paths.run, 'group'), `root:x:0:\ntty:x:${TTY_GID}:\n${CAGE_USER}:x:${uid}:\n`, { mode: 0o444 });
  }

  /** The cage's session: its launcher, Xvnc, then (once its X socket exists) the window manager. */
  sessionScript(): string {
    const { cage, level } = this.options;
    const { width, height } = (cage.geometry === 'auto' ? this.options.startScreen?.() : null) ?? geometryOf(cage);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`bad screen size ${width}x${height}`);
    this.startedScreen = { width, height };
    const colour = this.options.desktopColour;
    this.paintedColour = colour && /^#[0-9a-fA-F]{6}$/.test(colour) && findBinary('xsetroot') ? colour : null;
    // In the background: the X socket exists before Xvnc serves it, and the window manager need not wait.
    const paint = this.paintedColour ? `xsetroot -solid ${shellQuote(this.paintedColour)} &\n` : '';
    const xvnc = [
      'Xvnc', ':0',
      '-rfbunixpath', CAGE_VNC_SOCKET, '-rfbunixmode', '0600', '-rfbport', '-1',
      '-SecurityTypes', 'None',
      '-nolisten', 'tcp', '-nolisten', 'local',
      '-AllowOverride=', '-SendPrimary=0', '-SetPrimary=0', '-AcceptCutText=0', '-SendCutText=0',
      '-AcceptSetDesktopSize=0',
      // Only the supervisor reaches this socket (its folder is root's): Xvnc's blacklist of hosts that
      // failed to authenticate would only count the readiness probe and turn the real viewer away.
      '-UseBlacklist=0',
      '-geometry', `${width}x${height}`, '-depth', '24',
      '-desktop', `cloison-${level}`,
      ...(this.options.xvncUpdates ?? XVNC_UPDATES),
    ];
    // The apps start through the launcher once the window manager owns the screen and the sound
    // server listens (sessionApps.ts): the window manager starts first, while the sound server does.
    const wm = findBinary('openbox') ? `${WINDOW_MANAGER_ARGV.map(shellQuote).join(' ')} 2>>"$HOME/.cloison-session.log" &\n` : '';
    // The user's folders in the cage's language (Documents, Téléchargements, Bureau...), made once
    // and named in ~/.config/user-dirs.dirs, where Firefox and the file dialogs look (README, Decisions).
    const userDirs = findBinary('xdg-user-dirs-update') ? 'xdg-user-dirs-update >/dev/null 2>&1\n' : '';
    const { uid } = this.options;
    return `#!/bin/sh
# Cloison cage session (generated by the supervisor; do not edit)
# Stage 1, as root inside the sandbox: become the cage's user, with no capability left at all. Who
# runs this is read from /proc by the shell itself (no program run for it); anyone but the cage's
# user, or an unreadable answer, goes through setpriv (which only root passes).
uid=
while read -r key real _; do [ "$key" = Uid: ] && { uid=$real; break; }; done </proc/self/status
if [ "$uid" != ${uid} ]; then
  exec setpriv --reuid=${uid} --regid=${uid} --groups=${TTY_GID} --inh-caps=-all --bounding-set=-all --no-new-privs -- /bin/sh "$0"
fi
# Stage 2, as the cage's user. Its stderr was the sandbox set-up's (root's file): none of it for the cage.
exec 2>/dev/null
${userDirs}# First the cage's launcher, the one way the supervisor starts
# programs here (cageLauncher.ts): it connects to the supervisor's socket, and again after a restart.
# Its messages go to the session's, never kept: no file in the home can stop it starting.
(
  export DISPLAY=:0
  [ -r ${CAGE_SOUND_DIR}/cage.pa ] && export PULSE_SERVER=unix:${CAGE_PULSE_SOCKET}
  exec ${shellQuote(process.execPath)} ${CAGE_LAUNCHER} </dev/null >/dev/null
) &
# Xvnc writes its display on fd 3 once it takes clients (-displayfd): waited for on a FIFO, not
# polled. An Xvnc that ends before closes it unwritten.
ready=/tmp/.cloison-x-ready.$$
mkfifo -m 600 "$ready" || { echo "no FIFO for the X server's readiness" >&2; exit 70; }
${xvnc.map(shellQuote).join(' ')} -displayfd 3 3>"$ready" &
xvnc=$!
display=
read -r display <"$ready"
[ -n "$display" ] || { echo "Xvnc exited during start-up" >&2; exit 71; }
export DISPLAY=:0
${paint}${wm}${cageSoundSession()}
wait "$xvnc"
echo "Xvnc exited" >&2
exit 72
`;
  }

  bwrapArgs(withSound = false, card: CageCardArgs | null = null, locales: ReadonlySet<string> = new Set()): string[] {
    const { cage, paths, level } = this.options;
    // nat: resolvers chosen by the supervisor (natResolvers.ts); host: the host's; none: none at all.
    const resolver = cage.network === 'nat' || isWireguard(cage.network) ? join(paths.run, 'resolv.conf') : cage.network === 'host' ? '/etc/resolv.conf' : null;
    const scratch = (which: Parameters<typeof scratchDir>[1]) => scratchDir(paths.scratch, which);
    return [
      '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
      ...(cage.network === 'host' ? [] : ['--unshare-net']),
      // No --die-with-parent: a cage outlives the supervisor (crash, restart, upgrade) and the next
      // one re-adopts it (cageAdoption.ts); a supervisor that stops cleanly stops it.
      '--new-session',
      '--hostname', `cloison-${level}`,
      '--ro-bind', '/usr', '/usr',
      ...mergedUsrLinks(),
      // Directories bwrap creates are 0700 by default; the cage's user must traverse them.
      '--proc', '/proc', '--dev', '/dev',
      '--perms', '0755', '--tmpfs', '/run',
      '--perms', '0755', '--dir', '/etc', '--perms', '0755', '--dir', '/home', '--perms', '0755', '--dir', '/var',
      // Writable places come from the cage's own noexec filesystems (cageMounts.ts).
      '--bind', scratch('tmp'), '/tmp', '--bind', scratch('varTmp'), '/var/tmp', '--bind', scratch('shm'), '/dev/shm',
      ...ETC_ENTRIES.flatMap((e) => ['--ro-bind-try', `/etc/${e}`, `/etc/${e}`]),
      // The host's font cache (read-only): without it every X program rescans every font at start.
      '--perms', '0755', '--dir', '/var/cache', '--ro-bind-try', '/var/cache/fontconfig', '/var/cache/fontconfig',
      ...(resolver ? ['--ro-bind-try', resolver, '/etc/resolv.conf'] : []),
      '--ro-bind', join(paths.run, 'passwd'), '/etc/passwd',
      '--ro-bind', join(paths.run, 'group'), '/etc/group',
      '--bind', paths.home, CAGE_HOME,
      // Read-only bind: the cage cannot create folders there; devices mounted below appear live.
      '--ro-bind', paths.media, CAGE_MEDIA,
      '--bind', scratch('vnc'), CAGE_VNC_DIR,
      '--bind', scratch('x11'), '/tmp/.X11-unix',
      '--ro-bind', join(paths.run, 'session.sh'), '/run/cloison-session.sh',
      '--ro-bind', launcherProgram(), CAGE_LAUNCHER,
      // The supervisor's socket for the launcher, in a root-owned folder (launcherEndpoint.ts).
      '--bind', launcherDir(paths.run), CAGE_LAUNCHER_DIR,
      // Node outside /usr (a version manager's): its folder, read-only, where the launcher looks for it.
      ...(process.execPath.startsWith('/usr/') ? [] : ['--ro-bind', dirname(process.execPath), dirname(process.execPath)]),
      '--ro-bind', join(paths.run, 'xresources'), CAGE_XRESOURCES_PATH,
      ...(withSound ? ['--ro-bind', paths.sound, CAGE_SOUND_DIR] : []),
      ...cageAppSettingsArgs(paths.run),
      '--clearenv',
      '--setenv', 'HOME', CAGE_HOME, '--setenv', 'USER', CAGE_USER, '--setenv', 'LOGNAME', CAGE_USER,
      '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin', '--setenv', 'TERM', 'xterm', '--setenv', 'SHELL', '/bin/bash',
      // The shell's language, for the cage's applications too (cageLanguage.ts).
      ...cageLanguageArgs(this.options.locale ?? 'fr', locales),
      '--setenv', 'CLOISON_LEVEL', level,
      '--setenv', 'XENVIRONMENT', CAGE_XRESOURCES_PATH,
      // The level's default applications (cageMimeApps.ts): after --clearenv, for its environment.
      ...cageMimeAppsArgs(paths.run, levelBrowser(cage.apps)),
      ...(card?.bwrapArgs ?? []),
      '--chdir', CAGE_HOME,
      '--info-fd', '3',
      '/bin/sh', '/run/cloison-session.sh',
    ];
  }

  /**
   * Opens the level's WireGuard tunnel into the cage; any failure leaves it with `lo` alone and says
   * why. wireguard-go runs in the cage's group (it outlives the supervisor with the cage); the
   * record, once written, names the tunnel for the next supervisor.
   */
  async attachTunnel(innerPid: number, watch: TunnelWatch, cgroup: CageCgroup | null, sandboxReady?: Promise<boolean>): Promise<Tunnel | null> {
    const { cage, level } = this.options;
    if (!isWireguard(cage.network)) return null;
    try {
      const config = readWireguardConfig(cage.network.config);
      watch.setEndpoint(config.peers.map((p) => p.endpoint).join(', '));
      const tunnel = await openTunnel(tunnelInterfaceName(level, this.options.paths.run), innerPid, config, this.options.paths.run, cgroup?.joinPrefix ?? [], sandboxReady);
      updateCageRecord(this.options.paths.run, { tunnel: tunnelRecord(tunnel) });
      watch.watch(tunnel);
      this.options.log?.('tunnel open', { level, kind: tunnel.kind });
      return tunnel;
    } catch (err) {
      this.options.log?.('tunnel failed', { level, error: (err as Error).message });
      watch.fail((err as Error).message);
      return null;
    }
  }

  attachNat(slirp: string, innerPid: number, cgroup: CageCgroup | null): ChildProcess {
    const { level, log } = this.options;
    return startNat(slirp, innerPid, cgroup?.joinPrefix ?? [], this.options.paths.run, (msg, fields) => log?.(msg, { level, ...fields }));
  }

  private async waitForVnc(exited: Promise<CageExit>, verifyPeer: (socket: Socket) => void): Promise<void> {
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 20_000);
    let gone: CageExit | null = null;
    void exited.then((e) => (gone = e));
    while (Date.now() < deadline) {
      if (gone) throw new Error((gone as CageExit).reason);
      const node = lstatOrNull(this.vncSocket);
      if (node?.isSocket()) {
        try {
          await probeRfb({ path: this.vncSocket }, 1000, verifyPeer);
          return;
        } catch (err) {
          if (err instanceof CloisonError) throw err; // someone else's server at our path
        }
      }
      await nextChangeIn(scratchDir(this.options.paths.scratch, 'vnc'), 50);
    }
    this.options.log?.('cage start timed out', { level: this.options.level });
    throw new Error(`cage did not start its VNC server within ${this.options.startTimeoutMs ?? 20_000} ms`);
  }
}

/** The launcher ships next to the supervisor (source tree and built bundle alike). */
function launcherProgram(): string {
  const path = join(dirname(fileURLToPath(import.meta.url)), 'cageLauncherInCage.mjs');
  if (!existsSync(path)) throw new Error('cage launcher missing from the installation (cageLauncherInCage.mjs)');
  return path;
}

function tunnelRecord(tunnel: Tunnel): NonNullable<CageRecord['tunnel']> {
  return { ifname: tunnel.ifname, kind: tunnel.kind, go: tunnel.goPid ? processIdentity(tunnel.goPid) : null };
}

/**
 * slirp4netns attached to the network namespace of `innerPid` (a `nat` cage's), its messages in
 * `runDir`'s root-only log; the cage driver's.
 */
export function startNat(slirp: string, innerPid: number, joinPrefix: string[], runDir: string, log?: (msg: string, fields?: Record<string, unknown>) => void): ChildProcess {
  // --disable-host-loopback: 10.0.2.2 does not lead to the host's 127.0.0.1 (supervisor included);
  // --disable-dns: nor does the DNS alias 10.0.2.3 (natResolvers.ts); the sandbox and seccomp
  // flags confine slirp4netns itself, which parses every packet the cage sends, as root. It runs
  // in the cage's control group: the traffic a cage makes costs that cage's memory.
  const argv = [...joinPrefix, slirp, '--configure', '--mtu=65520', '--disable-host-loopback', '--disable-dns', '--enable-sandbox', '--enable-seccomp', String(innerPid), 'tap0'];
  // Its messages go to a root-only file, not a pipe: it outlives the supervisor (a pipe would end
  // it with SIGPIPE at its next message) and keeps the low cage's network across a restart.
  const logFile = join(runDir, 'slirp4netns.log');
  const fd = openSync(logFile, 'w', 0o600);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  child.on('error', (err: Error) => log?.('slirp4netns failed', { error: err.message }));
  child.on('exit', (code) => {
    if (code) log?.('slirp4netns exited', { code, stderr: tailOf(logFile) });
  });
  return child;
}

/** An interface name (15 characters at most) of this cage's own: per level and run folder. */
export function tunnelInterfaceName(level: string, run: string): string {
  return `clw${createHash('sha256').update(`${level}\0${run}`).digest('hex').slice(0, 10)}`;
}

/** SIGKILL to a sandbox's first process (its pid namespace's init) ends every process in it. */
export function killSandbox(init: ProcessIdentity): void {
  if (!isSameProcess(init)) return;
  try {
    process.kill(init.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

function tailOf(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-1000);
  } catch {
    return '';
  }
}

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** Full: less than 1 MiB (or 1 %) left, so no program can save a file of any size there. */
function homeIsFull(home: string): boolean {
  try {
    const fs = statfsSync(home);
    return fs.bavail * fs.bsize < Math.max(MiB, (fs.blocks * fs.bsize) / 100);
  } catch {
    return false;
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

/** Resolves at the next change in `dir` (Xvnc made its socket) or after `ms` at the latest. */
function nextChangeIn(dir: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | null = null;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      resolve();
    };
    const timer = setTimeout(done, ms);
    try {
      watcher = watch(dir, done);
    } catch {
      /* no inotify here: the timer alone */
    }
  });
}
