/**
 * One level's card proxy: Caml Crush's pkcs11proxyd, run as the level's unprivileged proxy uid
 * (never root, never the cage's), serving the level's filter on a socket in a folder only the
 * cage's group may enter. Stopping it ends every session the level had on the card: each
 * connection is a worker process of its own, and the whole process group goes.
 *
 * Trust rule: the cage reaches the card only through this socket; the module runs here, outside
 * the cage, and the cage's bytes are parsed by Caml Crush's OCaml RPC decoder, not by C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { SmartcardLevelPolicy } from '../../shared/smartcardPolicy';
import { requireBinary } from '../system/binaries';
import { createCageCgroup, openCageCgroup } from '../cages/cageCgroup';
import { createPartCgroup, type ControlGroup } from '../sandbox/partCgroup';
import { refuseDescriptorsOnStdio } from '../system/refusePassedDescriptors';
import { deniedFunctions, filterConfig, MAX_CONNECTIONS, serverConfig } from './cardFilterConfig';
import { RecordGuard } from './recordGuard';
import { CardReplyJournal, type CardEvent } from './cardReplyJournal';
import { nameFrom } from './cardObjectNames';
import { TrustedPinLogin } from './trustedPinLogin';
import { applicationOf } from './cardPeer';
import { cardProxyUidProblemAtStart } from '../policy/cardProxyAccounts';
import { removeOwnedFolders } from '../system/ownedFolders';
import { connectToProxySocket } from './proxySocketConnect';
import { builtOpensslPreinit, checkOpensslPreinit } from './opensslPreinit';
import { builtWorkerPrefault } from './workerPrefault';
import { builtWorkerModuleInit } from './workerModuleInit';
import { builtCardRecordRelay, CARD_RECORD_RELAY_NAME, checkRelayProgram } from './cardRecordRelay';
import { killGroupAsUid, signalGroupWhileUnreaped, unreaped } from './proxyProcessGroup';

/** What the journal says of a connection the guard ended. */
const GUARD_REFUSALS = { oversize: 'oversize message', 'too-many-connections': 'too many connections', pipelined: 'pipelined calls' } as const;

/** The socket's name in the level's folder; the cage sees that folder at CAGE_CARD_DIR. */
export const CARD_SOCKET_NAME = 'pkcs11.sock';
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 2_000;
/** Each proxy process's address space (a worker uses about 60 MiB with SoftHSM2 or OpenSC loaded). */
export const PROXY_ADDRESS_SPACE = 256 * 2 ** 20;
/** The proxy's control group: its controller, workers (MAX_CONNECTIONS) and their threads. */
const PROXY_GROUP_MEMORY = 1024 * 2 ** 20;
const PROXY_GROUP_TASKS = 128;
/**
 * Each proxy process's open files. netplex forks a fresh worker at each connection, which closes
 * every descriptor slot up to this limit one by one: with the 20 000 the supervisor's Node passed
 * on (it raises its own limit to the hard one), 40-50 ms of CPU beside the connection being served.
 */
export const PROXY_OPEN_FILES = 256;
/**
 * OCaml's garbage collector in the proxy (OCAMLRUNPARAM): a 32 k-word (256 KiB) minor heap instead
 * of 2 MiB, and a lazier major collector (space_overhead 1000 instead of OCaml's 80–120). Each
 * worker is a fork of the controller: every page of the inherited heaps it writes — each fresh
 * minor-heap page it allocates into, each major-heap block the collector marks — is a
 * copy-on-write fault, TLB flush included. Measured: a whole `pkcs11-tool --sign` cost the proxy ~1050 faults and ~48 ms of CPU
 * with OCaml's defaults, ~620 and ~36 ms with these (bench/RESULTS.md). A worker lives for one
 * connection; its live data is a few MiB, so even at eleven times that its heap stays far under
 * PROXY_ADDRESS_SPACE.
 */
export const PROXY_OCAML_GC = 's=32k,o=1000';
/** A library of ours that is not built is said once a process, not at every proxy start. */
const missingSaid = new Set<string>();

export interface LevelCardProxyOptions {
  level: string;
  modulePath: string;
  policy: SmartcardLevelPolicy;
  /** The proxy's uid (and gid); the cage's gid may enter the socket's folder. */
  proxyUid: number;
  cageGid: () => number;
  /** The supervisor's folder for this level's card (made here; root's parent). */
  dir: string;
  /** The module's environment (SoftHSM2's SOFTHSM2_CONF); nothing else of the supervisor's. */
  environment?: Record<string, string>;
  event: (event: CardEvent) => void;
  /**
   * `pin: trusted`: asks the user for the PIN of a login from the application named (its own name
   * for itself); null when none was typed. Absent: the cage's PIN goes to the card as sent.
   */
  askPin?: (application: string, gone: AbortSignal) => Promise<Buffer | null>;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /**
   * The cage manager's proxy for the cloison part (cageManager/cardProxyExecutor.ts): no guard
   * here, the part's guard reaches the proxy through connections the manager hands it (card.socket).
   */
  unguarded?: boolean;
  /**
   * The cloison part's proxy: pkcs11proxyd is the cage manager's (card.proxy), each cage connection
   * relayed by this guard to a connection the manager hands over (card.socket). The socket's folder
   * is then the part's own (the manager gives the cage's group entry to it).
   */
  remote?: RemoteCardProxy;
  /**
   * The OpenSSL pre-initialisation preloaded beside the module (opensslPreinit.ts): its path,
   * by default where the build puts it; null, none (the benchmark's reference).
   */
  opensslPreinit?: string | null;
  /**
   * The workers' page-table fill preloaded beside it (workerPrefault.ts): its path, by default
   * where the build puts it; null, none (the benchmark's reference).
   */
  workerPrefault?: string | null;
  /**
   * The workers' module initialisation at their connection's accept, preloaded beside them
   * (workerModuleInit.ts): its path, by default where the build puts it; null, none (the benchmark's reference).
   */
  workerModuleInit?: string | null;
  /**
   * The guard's relay program (cardRecordRelay.ts): its path, by default where the build puts it;
   * null, the guard relays in this process (the benchmark's reference).
   */
  recordRelay?: string | null;
  /** Whether the guard connects to the proxy ahead of the next cage (spareProxyConnection.ts; default true). */
  connectAhead?: boolean;
}

/** The cage manager's proxy of a level, as the cloison part reaches it (cageManager/remoteCardProxy.ts). */
export interface RemoteCardProxy {
  start(): Promise<void>;
  stop(): Promise<void>;
  connect(): Promise<Socket>;
}

/** Folders of one level's proxy: `socketDir` is what the cage gets bound. */
export function cardProxyPaths(dir: string): { socketDir: string; socket: string; innerDir: string; innerSocket: string; netplexDir: string; configDir: string } {
  const socketDir = join(dir, 'socket');
  const innerDir = join(dir, 'proxy');
  return { socketDir, socket: join(socketDir, CARD_SOCKET_NAME), innerDir, innerSocket: join(innerDir, CARD_SOCKET_NAME), netplexDir: join(dir, 'netplex'), configDir: join(dir, 'config') };
}

export class LevelCardProxy {
  private child: ChildProcess | null = null;
  private guard: RecordGuard | null = null;
  private cgroup: ControlGroup | null = null;
  private stderrTail = '';
  private remoteRunning = false;

  constructor(readonly options: LevelCardProxyOptions) {}

  get running(): boolean {
    if (this.options.remote) return this.remoteRunning;
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  get socket(): string {
    return cardProxyPaths(this.options.dir).socket;
  }

  /** The proxy's own socket (its folder the proxy uid's 0700: root connects, never by this path: connectProxy). */
  get innerSocket(): string {
    return cardProxyPaths(this.options.dir).innerSocket;
  }

  /**
   * A connection to the proxy's own socket, only if that is a socket the proxy uid bound and
   * listens on (proxySocketConnect.ts): the name is in the proxy uid's folder, it may point anywhere.
   */
  connectProxy(options: { paused?: boolean } = {}): Promise<Socket> {
    return connectToProxySocket(this.innerSocket, this.options.proxyUid, options);
  }

  /**
   * Makes the socket's folder (kept across restarts: a running cage has it bound) — the
   * supervisor's guard listens there, the cage's group enters, nobody else.
   */
  prepare(): string {
    const { cageGid, dir } = this.options;
    const paths = cardProxyPaths(dir);
    // The cloison part's: the manager made this folder, the part's to listen in, the cage's group's to enter.
    if (this.options.remote) return paths.socketDir;
    // The proxy's uid passes through the supervisor's folders (whatever the umask made them).
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dirname(dir), 0o755);
    chmodSync(dir, 0o755);
    // The manager's proxy for the cloison part: the socket folder is the part's (cageCardFolder.ts).
    if (this.options.unguarded) return paths.socketDir;
    mkdirSync(paths.socketDir, { recursive: true, mode: 0o750 });
    chownSync(paths.socketDir, 0, cageGid());
    chmodSync(paths.socketDir, 0o750);
    return paths.socketDir;
  }

  /** Writes the configuration, starts the proxy and waits for its socket. */
  async start(): Promise<void> {
    if (this.running) return;
    const { level, proxyUid, dir } = this.options;
    const paths = cardProxyPaths(dir);
    this.prepare();
    rmSync(paths.socket, { force: true });
    const remote = this.options.remote;
    if (remote) {
      await remote.start();
      this.remoteRunning = true;
      await this.startGuard(paths.socket, () => remote.connect());
      this.options.log?.('card proxy started through the cage manager', { level });
      return;
    }
    // The uid nobody's still (the policy's reading checked it, an account may have been made since):
    // a proxy running as an account's uid would be that account's to trace, and the PIN with it.
    await refuseHeldUid(level, proxyUid);
    // Every process of the previous run gone — the controller's process group killed, its control
    // group killed and seen empty — before anything of the proxy uid's is touched.
    await this.endPreviousRun();
    // A control group of its own: a worker compromised by a cage's bytes that forks and leaves the
    // process group (setsid) is still in it, and stop() kills the group whole — no process of the
    // level keeps the card after it was taken back (exclusive) or the proxy stopped. Made here, before
    // the folders: making it kills what a supervisor that is gone left in its groups.
    const made = createPartCgroup({ create: createCageCgroup, open: openCageCgroup }, `card proxy ${level}`, { memoryBytes: PROXY_GROUP_MEMORY, tasks: PROXY_GROUP_TASKS });
    if (!made.cgroup) this.options.log?.('card proxy: no control group of its own, what its workers fork may outlive it', { level, reason: made.reason });
    this.cgroup = made.cgroup;
    // The proxy uid's folders: never walked by root (a process of that uid a host without control
    // groups let live could swap a subfolder for a link), set aside and emptied as that uid. One
    // that could not be emptied stays aside under a name of its own: the level's card is not lost
    // for good to a file left there (the new folders are made fresh, the uid's alone), it is said.
    const left = await removeOwnedFolders([paths.innerDir, paths.netplexDir]).catch((err: Error) => {
      this.removeControlGroup();
      throw new Error(`the card proxy of "${level}" cannot start: ${err.message}`);
    });
    if (left.length > 0) this.options.log?.('card proxy: a folder of its uid could not be emptied, left aside', { level, folders: left });
    // Asked again now the removal (up to a minute or more) is done: from the answer to the spawn
    // nothing waits, so no account made meanwhile is given the folders below or the proxy's workers.
    try {
      await refuseHeldUid(level, proxyUid);
    } catch (err) {
      this.removeControlGroup();
      throw err;
    }
    rmSync(paths.configDir, { recursive: true, force: true }); // root's, in root's folder
    // The proxy's own socket: its folder is the proxy's alone (the supervisor, root, connects).
    mkdirSync(paths.innerDir, { mode: 0o700 });
    chownSync(paths.innerDir, proxyUid, proxyUid);
    mkdirSync(paths.configDir, { mode: 0o755 });
    chmodSync(paths.configDir, 0o755);
    mkdirSync(paths.netplexDir, { mode: 0o700 });
    chownSync(paths.netplexDir, proxyUid, proxyUid);
    const filter = join(paths.configDir, 'filter.conf');
    const server = join(paths.configDir, 'pkcs11proxyd.conf');
    writeFileSync(filter, filterConfig(this.options.modulePath, this.options.policy), { mode: 0o444 });
    writeFileSync(server, serverConfig(level, { socket: paths.innerSocket, netplexDir: paths.netplexDir, filterConfig: filter }), { mode: 0o444 });

    // Caml Crush's RPC server takes a record of any announced length (2 GiB) and buffers it (the
    // guard keeps such records from it): the address-space limit bounds what such a worker holds.
    const limits = [`--as=${PROXY_ADDRESS_SPACE}`, `--nofile=${PROXY_OPEN_FILES}`];
    const argv = ['--reuid', String(proxyUid), '--regid', String(proxyUid), '--clear-groups', '--no-new-privs', '--', requireBinary('prlimit'), ...limits, ...this.preloaded(), requireBinary('pkcs11proxyd'), '-fg', '-conf', server];
    const command = [...(this.cgroup?.joinPrefix ?? []), requireBinary('setpriv'), ...argv];
    const child = spawn(command[0]!, command.slice(1), {
      // A process group of its own: stopping it takes every worker (and every session) with it.
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: '/usr/bin:/bin', LANG: 'C', OCAMLRUNPARAM: PROXY_OCAML_GC, ...this.options.environment },
      cwd: '/',
    });
    // Its stderr is a socketpair root reads, and the proxy parses what the cage sends.
    refuseDescriptorsOnStdio(child);
    this.child = child;
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.stderrTail = `${this.stderrTail}${line}\n`.slice(-2000);
    });
    child.on('exit', (code, signal) => this.options.log?.('card proxy exited', { level, code, signal }));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!existsSync(paths.innerSocket)) {
      if (!this.running) throw new Error(`the card proxy of "${level}" exited at start: ${this.lastLines()}`);
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`the card proxy of "${level}" made no socket in ${START_TIMEOUT_MS} ms: ${this.lastLines()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.options.unguarded) {
      this.options.log?.('card proxy started (its guard is the cloison part\'s)', { level, uid: proxyUid });
      return;
    }
    await this.startGuard(paths.socket, () => this.connectProxy());
    this.options.log?.('card proxy started', { level, uid: proxyUid });
  }

  /** The cage's socket: records bounded, the filter's refusals journaled, the trusted PIN's logins. */
  private async startGuard(listen: string, target: () => Promise<Socket>): Promise<void> {
    // The filter's refusals, read off its replies (its own log is off: see cardReplyJournal.ts).
    const denied = new Set(deniedFunctions(this.options.policy));
    this.guard = new RecordGuard({ listen, target, connectAhead: this.options.connectAhead ?? true, maxConnections: MAX_CONNECTIONS, refused: (reason) => this.options.event({ kind: 'refused', function: GUARD_REFUSALS[reason], handle: null, reason: 'malformed' }), watch: (ask) => new CardReplyJournal(denied, (event) => this.options.event(event), nameFrom(ask)), ...this.trustedPin(), relay: this.relayProgram() });
    await this.guard.start();
  }

  /**
   * The module mapped into pkcs11proxyd before its workers fork: each worker's C_LoadModule then
   * finds it loaded (its libraries' loading and relocations done once, in the parent) instead of
   * loading SoftHSM2 or OpenSC with libstdc++ and OpenSSL while the application waits — most of a
   * first call's wait. Only the library is loaded there: C_Initialize, and with it every session,
   * login and handle, is still each worker's own, after its fork (with workerModuleInit, SoftHSM2's
   * C_Initialize done while the worker waits, its view checked at the connection). Set through `env` after
   * setpriv and prlimit, so neither the root-run setpriv nor prlimit loads the module. A path
   * LD_PRELOAD would split (a space or a colon in it) is loaded the slow way, in each worker.
   */
  private preloaded(): string[] {
    const module = this.options.modulePath;
    const moduleLoaded = !/[\s:]/.test(module);
    const libraries = [
      // OpenSSL started once in the controller (native/opensslPreinit.c), so each worker does not start it again in its C_Initialize.
      ...this.ourLibrary('the OpenSSL pre-initialisation', this.options.opensslPreinit, builtOpensslPreinit, 'each worker starts OpenSSL itself'),
      // Each waiting worker's C_Initialize done while it waits, its view kept valid until its connection
      // (native/workerModuleInit.c): only for a module preloaded here, the one it finds.
      ...(moduleLoaded ? this.ourLibrary('the workers\' module initialisation', this.options.workerModuleInit, builtWorkerModuleInit, 'each worker initialises the module when its application asks') : []),
      // Each worker's read-only pages mapped at its fork, while it waits (native/workerPrefault.c), not faulted in while it serves.
      ...this.ourLibrary('the workers\' page-table fill', this.options.workerPrefault, builtWorkerPrefault, 'each worker faults its code in as it serves'),
    ];
    if (moduleLoaded) libraries.push(module);
    return libraries.length > 0 ? [requireBinary('env'), `LD_PRELOAD=${libraries.join(' ')}`] : [];
  }

  /**
   * A native library of ours preloaded into pkcs11proxyd, only if root's alone (opensslPreinit.ts's
   * check), else the proxy starts without it and says why — a speed-up, never a reason to fail the card.
   */
  private ourLibrary(what: string, option: string | null | undefined, built: () => string, without: string): string[] {
    const file = option === undefined ? built() : option;
    if (file === null) return [];
    const checked = checkOpensslPreinit(file);
    if (checked.ok) return [checked.path];
    if (!checked.missing) this.options.log?.(`card proxy: ${what} refused, started without it (root alone must be able to write it)`, { level: this.options.level, reason: checked.reason });
    else if (!missingSaid.has(what) && this.options.log) {
      missingSaid.add(what);
      this.options.log(`card proxy: ${what} is not built, ${without} (npm run build makes it)`, { path: file });
    }
    return [];
  }

  /**
   * The relay program the guard hands each connection to (cardRecordRelay.ts), if built and root's
   * alone (opensslPreinit.ts's check: root runs it); a root supervisor's runs as the proxy uid, from
   * an execute-only copy in the level's configuration folder (root's): the kernel makes a process
   * non-dumpable when it executes a file its uid cannot read, so from its exec on no process of the
   * proxy uid — a proxy a cage took over — can trace it (forging the journal's reports, forking
   * through it outside the proxy's control group) or read its memory. The relay's own
   * PR_SET_DUMPABLE comes only after its libraries loaded: a proxy that kills it and watches for
   * the next start could attach in between.
   */
  private relayProgram(): { program: string; uid?: number; gid?: number; gone: (why: string) => void } | undefined {
    const file = this.options.recordRelay === undefined ? builtCardRecordRelay() : this.options.recordRelay;
    if (file === null) return undefined;
    const checked = checkRelayProgram(file);
    if (!checked.ok) {
      if (!checked.missing) this.options.log?.('card guard: its relay program refused, relayed in the supervisor (root alone must be able to write it)', { level: this.options.level, reason: checked.reason });
      return undefined;
    }
    const { level, proxyUid } = this.options;
    if (process.getuid?.() !== 0) return { program: checked.path, gone: (why) => this.options.log?.('card guard: its relay program ended, its connections with it', { level, why }) };
    const copy = join(cardProxyPaths(this.options.dir).configDir, CARD_RECORD_RELAY_NAME);
    rmSync(copy, { force: true });
    copyFileSync(checked.path, copy);
    chmodSync(copy, 0o711);
    return { program: copy, uid: proxyUid, gid: proxyUid, gone: (why) => this.options.log?.('card guard: its relay program ended, its connections with it', { level, why }) };
  }

  /** Under `pin: trusted`: each connection's logins take the dialog's PIN, never the cage's. */
  private trustedPin(): { wholeRecords?: (cage: Socket) => TrustedPinLogin } {
    const askPin = this.options.askPin;
    if (!askPin) return {};
    return {
      wholeRecords: (cage) => {
        const application = applicationOf(cage);
        // The connection closing while its login waits for the user closes the dialog.
        const gone = new AbortController();
        cage.once('close', () => gone.abort());
        return new TrustedPinLogin(() => askPin(application, gone.signal));
      },
    };
  }

  /** Stops the proxy and its workers: every session of the level on the card ends. */
  async stop(): Promise<void> {
    await this.guard?.stop();
    this.guard = null;
    if (this.options.remote) {
      if (!this.remoteRunning) return;
      this.remoteRunning = false;
      await this.options.remote.stop();
      return;
    }
    const child = this.child;
    this.child = null;
    if (!child || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => {
      if (!unreaped(child)) resolve();
      else child.once('exit', () => resolve());
    });
    // -pid only while the controller is unreaped: once reaped, its id may be another account's group.
    signalGroupWhileUnreaped(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroupWhileUnreaped(child, 'SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    await this.killLeftovers(child.pid);
    rmSync(cardProxyPaths(this.options.dir).socket, { force: true });
  }

  /**
   * What outlived the reaped controller: workers still in its process group, or out of it (setsid).
   * The control group killed whole; without one, the group's id signalled with the proxy uid's
   * rights only (proxyProcessGroup.ts) — what left the group then lives on (said at start).
   */
  private async killLeftovers(controllerPid: number): Promise<void> {
    if (!this.cgroup) await killGroupAsUid(controllerPid, this.options.proxyUid);
    const survivors = this.removeControlGroup();
    if (survivors) this.options.log?.('card proxy: its control group is not empty after its kill', { level: this.options.level, group: survivors });
  }

  /**
   * A previous run whose controller died without a stop() (killed by a worker of the same uid):
   * what is left of it killed (stop(): never its group's id once the controller is reaped), its
   * control group too; throws if the control group was not seen empty.
   */
  private async endPreviousRun(): Promise<void> {
    if (this.child) await this.stop();
    const survivors = this.removeControlGroup();
    if (survivors) throw new Error(`the card proxy of "${this.options.level}" cannot start: its previous control group (${survivors}) still has processes after their kill`);
  }

  /** Kills and removes the control group; the folder still there (a process left in it) or null. */
  private removeControlGroup(): string | null {
    const group = this.cgroup;
    this.cgroup = null;
    if (!group) return null;
    group.remove();
    // A control group's folder is removed only once no process is left in it.
    const left = group.dirs.find((dir) => existsSync(dir));
    if (left) this.cgroup = group;
    return left ?? null;
  }

  private lastLines(): string {
    return this.stderrTail.trim().split('\n').slice(-3).join(' | ') || 'no output';
  }
}

/** Throws when `proxyUid` is an account's or, as a gid, a group's (cardProxyAccounts.ts). */
async function refuseHeldUid(level: string, proxyUid: number): Promise<void> {
  const held = await cardProxyUidProblemAtStart(proxyUid);
  if (held) throw new Error(`the card proxy of "${level}" cannot start: uid ${proxyUid}${held}`);
}
