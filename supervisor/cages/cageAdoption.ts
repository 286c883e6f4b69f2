/**
 * Re-adopts a bwrap cage that outlived the supervisor before it (a crash, a restart, an upgrade):
 * every window and unsaved document in it stays. The cage's record (cageRecord.ts) is a claim;
 * adoption checks it against the kernel — the same processes (pid and start time), the sandbox's
 * pid namespace, its control group, its uid, that uid still nobody's account or group (asked of the
 * name service as at a start: an account made since the cage started refuses it) — and then the VNC socket's peer: it must be the very
 * Xvnc recorded (SO_PEERCRED pid, uid and pid namespace, as the gateway checks), so a server the
 * cage's user put at the socket's name while no supervisor watched is refused, never connected.
 * Anything that does not match is not adopted: the caller journals why and starts a fresh cage
 * (which ends whatever was left, as before). A re-adopted cage is no child of this process: it is
 * watched by polling /proc for its bwrap. Its launcher connects to this supervisor's socket again
 * (launcherEndpoint.ts): programs start there as before the restart. A WireGuard cage's tunnel is
 * taken back too (its interface in the cage, its wireguard-go the recorded process), or made again.
 */
import { EventEmitter } from 'node:events';
import { existsSync, lstatSync } from 'node:fs';
import type { Socket } from 'node:net';
import { isWireguard } from '../../shared/policy';
import { cageUidAtAdoption } from '../policy/cageUidAccounts';
import { pidNamespaceOf } from '../sandbox/peerCredentials';
import { findBinary } from '../system/binaries';
import { BwrapDriver, killSandbox, type BwrapDriverOptions } from './bwrapDriver';
import type { CageDriver, CageExit, CageNotice, RunningCage } from './cageDriver';
import type { CageLifecycle } from './cageLifecycle';
import { openCageCgroup, type CageCgroup } from './cageCgroup';
import { unmountCageFilesystems } from './cageMounts';
import { CAGE_RECORD_VERSION, isSameProcess, processCgroupPaths, processIdentity, processUid, readCageRecord, removeCageRecord, writeCageRecord, type CageRecord, type ProcessIdentity } from './cageRecord';
import type { LauncherEndpoint } from './launcherEndpoint';
import { probeRfb } from './rfbProbe';
import { quitCageApps } from './appQuit';
import { TunnelWatch } from '../network/tunnelWatch';
import { readWireguardConfig } from '../policy/wireguardConfig';
import { adoptTunnel, removeTunnel, type Tunnel } from '../network/wireguardTunnel';

export type Adoption =
  /** No record: no cage of this level was left running (or it ended since). */
  | { kind: 'none' }
  /** `uidUnchecked`: the name service could not say whether an account has its uid (kept, said). */
  | { kind: 'adopted'; cage: RunningCage; uidUnchecked?: string }
  /** Something did not match: not adopted, what was left of it stopped; `reason` is journaled. */
  | { kind: 'refused'; reason: string; definitionChanged: boolean };

/** How often a re-adopted cage's bwrap is looked for in /proc. */
const WATCH_MS = 250;
const PROBE_MS = 2000;

type Log = (msg: string, fields?: Record<string, unknown>) => void;

export async function adoptBwrapCage(driver: BwrapDriver, options: BwrapDriverOptions, log?: Log): Promise<Adoption> {
  const found = readCageRecord(options.paths.run);
  if (found === null) return { kind: 'none' };
  if ('unreadable' in found) return refuse(options, null, found.unreadable);
  const record = found;
  const doubts: string[] = [];
  const mismatch = await checkRecord(driver, options, record, doubts);
  if (mismatch) return refuse(options, record, mismatch.reason, mismatch.definitionChanged);
  if (doubts.length) log?.('cage re-adopted without its uid re-checked', { level: options.level, uid: options.uid, reason: doubts.join('; ') });
  const cgroup = record.cgroup ? openCageCgroup(record.cgroup.version, record.cgroup.dirs) : null;
  // Its launcher connects again (it waits for this supervisor's socket); only the recorded one is taken.
  const launcher = await driver.openLauncher(record.pidNamespace, record.launcher);
  return { kind: 'adopted', cage: adopted(driver, options, record, cgroup, launcher, log), ...(doubts.length ? { uidUnchecked: doubts.join('; ') } : {}) };
}

/** What makes the record not this cage's, or null when every check passes. */
async function checkRecord(driver: BwrapDriver, options: BwrapDriverOptions, record: CageRecord, doubts: string[]): Promise<{ reason: string; definitionChanged: boolean } | null> {
  const no = (reason: string, definitionChanged = false) => ({ reason, definitionChanged });
  if (record.version !== CAGE_RECORD_VERSION) return no(`it was started by another version of Cloison (record format ${record.version}, this one reads ${CAGE_RECORD_VERSION})`);
  if (record.level !== options.level || record.uid !== options.uid) return no('its record names another level or uid');
  if (record.fingerprint !== driver.fingerprint) return no('its definition changed in the policy meanwhile: restarted, as a reload would', true);
  if (!isSameProcess(record.bwrap)) return no('its bwrap is gone');
  if (!isSameProcess(record.inner)) return no("its sandbox's first process is gone");
  if (pidNamespaceOf(record.inner.pid) !== record.pidNamespace) return no("its sandbox's pid namespace is not the recorded one");
  if (!isSameProcess(record.xvnc) || pidNamespaceOf(record.xvnc.pid) !== record.pidNamespace || processUid(record.xvnc.pid) !== options.uid) return no('its Xvnc is gone or is not the recorded one');
  if (record.cgroup) {
    const group = openCageCgroup(record.cgroup.version, record.cgroup.dirs);
    if (!group) return no('its control group is gone');
    for (const id of [record.inner, record.xvnc]) {
      const paths = processCgroupPaths(id.pid);
      if (!record.cgroup.dirs.every((d) => paths.includes(d))) return no('its processes are not in its control group');
    }
  }
  // As at a start (bwrapDriver.ts), an account given the uid since refuses it; a name service that
  // cannot tell does not end a running cage (it was checked at its start): the doubt is said.
  const account = await cageUidAtAdoption(options.uid);
  if (account.held) return no(`uid ${options.uid}${account.held}`);
  if (account.cannotTell) doubts.push(`the name service could not tell whether an account has uid ${options.uid}: ${account.cannotTell}`);
  const node = lstatOrNull(driver.vncSocket);
  if (!node?.isSocket() || node.uid !== options.uid) return no('its VNC socket is missing or not its own');
  if (record.sound && (!existsSync(record.sound.out) || (record.sound.mic && !existsSync(record.sound.mic)))) return no("its sound server's FIFOs are gone");
  // The socket's peer, from the kernel: the recorded Xvnc itself, or nothing is relayed.
  try {
    await probeRfb({ path: driver.vncSocket }, PROBE_MS, (socket: Socket) => driver.verifyPeer(socket, record.pidNamespace, record.xvnc));
  } catch (err) {
    return no(`its VNC socket did not answer as its own Xvnc: ${(err as Error).message}`);
  }
  return null;
}

/** Not adopted: whatever was left of the recorded cage ends now, so a fresh one starts clean. */
function refuse(options: BwrapDriverOptions, record: CageRecord | null, reason: string, definitionChanged = false): Adoption {
  if (record) {
    killSandbox(record.inner);
    killIfSame(record.bwrap);
    if (record.slirp) killIfSame(record.slirp);
    if (record.tunnel?.go) killIfSame(record.tunnel.go);
    if (record.cgroup) openCageCgroup(record.cgroup.version, record.cgroup.dirs)?.remove();
  }
  removeCageRecord(options.paths.run);
  return { kind: 'refused', reason, definitionChanged };
}

function adopted(driver: BwrapDriver, options: BwrapDriverOptions, record: CageRecord, cgroup: CageCgroup | null, launcher: LauncherEndpoint, log?: Log): RunningCage {
  const { level, paths } = options;
  const notices = new EventEmitter<{ notice: [CageNotice] }>();
  let stoppedFor: string | null = null;
  // slirp4netns outlives the supervisor in the cage's group; if it ended meanwhile, a new one attaches to the same namespace.
  let slirp: ProcessIdentity | null = record.slirp && isSameProcess(record.slirp) ? record.slirp : null;
  if (options.cage.network === 'nat' && !slirp) {
    const binary = findBinary('slirp4netns');
    const child = binary ? driver.attachNat(binary, record.inner.pid, cgroup) : null;
    slirp = child?.pid ? processIdentity(child.pid) : null;
    writeCageRecord(paths.run, { ...record, slirp });
    log?.('slirp4netns restarted for a re-adopted cage', { level });
  }
  // A WireGuard cage's tunnel: taken back if it checks out, else made again (the cage has no route meanwhile).
  const tunnelWatch = isWireguard(options.cage.network) ? new TunnelWatch(level, '') : null;
  let tunnel: Tunnel | null = null;
  if (tunnelWatch) void takeBackTunnel(driver, options, record, cgroup, tunnelWatch, log).then((t) => (tunnel = t));
  let limits: NodeJS.Timeout | null = null;
  const ended = new Promise<CageExit>((resolve) => {
    const watch = setInterval(() => {
      if (isSameProcess(record.bwrap)) return;
      clearInterval(watch);
      resolve({ reason: stoppedFor ?? 'cage session ended' });
    }, WATCH_MS);
    watch.unref();
  });
  const exited = ended.then(async (exit) => {
    if (limits) clearInterval(limits);
    launcher.close();
    tunnelWatch?.stop();
    await tunnel?.close();
    removeCageRecord(paths.run);
    if (slirp) killIfSame(slirp);
    cgroup?.remove();
    await unmountCageFilesystems(paths).catch((err: Error) => log?.('cage filesystems not unmounted', { level, error: err.message }));
    log?.('cage session ended', { level, adopted: true });
    return exit;
  });
  const stop = async (reason?: string) => {
    stoppedFor ??= reason ?? null;
    killIfSame(record.bwrap, 'SIGTERM');
    killSandbox(record.inner);
    const timer = setTimeout(() => killIfSame(record.bwrap), 3000);
    await exited;
    clearTimeout(timer);
  };
  limits = driver.watchLimits(cgroup, cgroup?.counters() ?? { oomKills: 0, taskLimitHits: 0 }, notices, (reason) => void stop(reason));
  log?.('cage re-adopted', { level, innerPid: record.inner.pid, xvnc: record.xvnc.pid });
  return {
    endpoint: { path: driver.vncSocket },
    innerPid: record.inner.pid,
    exited,
    stop: () => stop(),
    quitApps: (timeoutMs) => quitCageApps(launcher.launcher, timeoutMs),
    verifyPeer: (socket) => void driver.verifyPeer(socket, record.pidNamespace, record.xvnc),
    launcher: launcher.launcher,
    onNotice: (l) => notices.on('notice', l),
    ...(record.sound ? { sound: record.sound } : {}),
    ...(tunnelWatch ? { tunnel: { current: () => tunnelWatch.current, onChange: (l: Parameters<typeof tunnelWatch.on<'change'>>[1]) => tunnelWatch.on('change', l) } } : {}),
  };
}

/** The recorded tunnel if its interface is in the cage and its wireguard-go the recorded process; else a new one. */
async function takeBackTunnel(driver: BwrapDriver, options: BwrapDriverOptions, record: CageRecord, cgroup: CageCgroup | null, watch: TunnelWatch, log?: Log): Promise<Tunnel | null> {
  const { level, cage } = options;
  const recorded = record.tunnel ?? null;
  const go = recorded?.go ? { alive: () => isSameProcess(recorded.go!), kill: () => killIfSame(recorded.go!, 'SIGTERM') } : null;
  if (recorded) {
    const tunnel = await adoptTunnel(recorded, record.inner.pid, go).catch(() => null);
    if (tunnel) {
      if (isWireguard(cage.network)) {
        try {
          watch.setEndpoint(readWireguardConfig(cage.network.config).peers.map((p) => p.endpoint).join(', '));
        } catch {
          /* the handshakes alone say whether it is up */
        }
      }
      watch.watch(tunnel);
      log?.('tunnel re-adopted', { level, kind: tunnel.kind });
      return tunnel;
    }
    await removeTunnel(recorded, record.inner.pid, go);
    log?.('tunnel not re-adopted: made again', { level });
  }
  return driver.attachTunnel(record.inner.pid, watch, cgroup);
}

/**
 * A level's cage at supervisor start: the one left running re-adopted if it checks out, else (none,
 * or refused: journaled with the reason) a fresh one started, which ends whatever was left.
 */
export async function adoptOrStart(lifecycle: CageLifecycle, driver: CageDriver | undefined, record: (kind: string, fields: Record<string, string>) => void, log?: Log): Promise<void> {
  const adoption: Adoption = driver instanceof BwrapDriver ? await driver.adopt(log) : { kind: 'none' };
  if (adoption.kind === 'adopted') {
    record('cage.adopted', { level: lifecycle.level, ...(adoption.uidUnchecked ? { uidUnchecked: adoption.uidUnchecked.slice(0, 500) } : {}) });
    await lifecycle.adopt(adoption.cage);
    return;
  }
  if (adoption.kind === 'refused') {
    record('cage.adoption', { level: lifecycle.level, decision: 'refused', reason: adoption.reason.slice(0, 500) });
    log?.('cage not re-adopted', { level: lifecycle.level, reason: adoption.reason });
    // The user sees it first: the cage's state says why it restarts while it does.
    await lifecycle.start(`restarted: the cage left running could not be taken back (${adoption.reason})`);
    return;
  }
  await lifecycle.start();
}

function killIfSame(id: ProcessIdentity, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!isSameProcess(id)) return;
  try {
    process.kill(id.pid, signal);
  } catch {
    /* already gone */
  }
}

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
