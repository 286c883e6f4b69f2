/**
 * The cage supervisor, wired: policy, one lifecycle per cage, focus, tickets, VNC gateway, RPC
 * (Unix socket and browser host) and the audit journal. The composition root of the daemon; tests
 * start it in-process with their own directories.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { cageUid, type LevelPolicy, type Policy } from '../shared/policy';
import type { TunnelView } from '../shared/rpc';
import type { KeyboardLayoutView } from '../shared/keyboardLayout';
import { cageSoundOf, loopBackingDirOf, RunningPolicy } from './policy/runningPolicy';
import { describeChanges, hasChanges, policyChanges } from './policy/policyChanges';
import { FileAuditJournal } from './audit/auditJournal';
import type { CageDriver } from './cages/cageDriver';
import { BwrapDriver, bwrapCagePaths, mediaRootOf } from './cages/bwrapDriver';
import { CageLifecycle } from './cages/cageLifecycle';
import { adoptOrStart } from './cages/cageAdoption';
import { VncDriver } from './cages/vncDriver';
import { FocusState } from './focusState';
import { TicketRegistry } from './gateway/ticketRegistry';
import { VncGateway } from './gateway/vncGateway';
import { scheduleGatewayWarmUp } from './gateway/gatewayWarmUp';
import { startBrowserHost, type BrowserHost } from './host/browserHost';
import { ShellLaunches } from './host/shellLaunches';
import { createRpcHandlers, levelViews } from './rpc/rpcHandlers';
import { RpcSessions } from './rpc/rpcSession';
import { listenUnixRpc } from './rpc/unixRpcServer';
import { TrustPhraseStore } from './trust/trustPhraseStore';
import { ClipboardBroker } from './clipboard/clipboardBroker';
import { XCageClipboards } from './clipboard/cageClipboards';
import { CageScreens } from './screen/cageScreens';
import { keepCageKeymaps } from './keyboard/cageKeymap';
import { resolveKeyboardLayout } from './keyboard/keyboardLayout';
import { Confirmations } from './confirm/confirmations';
import { FileBroker } from './files/fileBroker';
import { mountStagingArea, unmountStagingArea } from './files/stagingArea';
import { isSakRfbKey, sakKey, type SakKey } from '../shared/keysyms';
import { DeviceBroker } from './usb/deviceBroker';
import { listenAdmin, type AdminHandlers, type AdminStatus } from './admin/adminServer';
import { JournalForwarder, type ForwardTarget } from './audit/journalForwarder';
import { DeviceWatcher } from './usb/deviceWatcher';
import { MediaMounts } from './usb/mediaMounts';
import { loadOrCreateStationKeys } from './usb/keyMarks';
import { EncryptingDiode } from './files/encryptingDiode';
import { hostname } from 'node:os';
import { SessionLock } from './session/sessionLock';
import { checkUnlockPassword } from './session/pamCheck';
import { SleepGuard } from './session/sleepGuard';
import { AudioBroker } from './audio/audioBroker';
import { SmartcardBroker } from './smartcard/smartcardBroker';
import { HostSound, type HostSoundTarget } from './audio/hostSound';
import { TrainingDesk } from './training/trainingDesk';
import { AppLauncher } from './apps/appLauncher';
import { trainingAdminHandlers } from './training/trainingAdmin';
import { plugTrainingKey } from './training/trainingKeys';
import { resolveWorkstationUser } from './session/workstationUser';

export interface SupervisorOptions {
  policy: Policy;
  policySource: string;
  policyText: string;
  stateDir: string;
  runDir: string;
  rendererDir: string | null;
  port?: number;
  /** Allowed WebSocket origins besides the browser host's own (Electron's app://cloison). */
  extraOrigins?: string[];
  /** Serve the browser shell (renderer and RPC WebSocket on 127.0.0.1); off for an Electron shell. */
  browserShell?: boolean;
  /** Where journal records are copied (journald, syslog); none by default. */
  forwardJournal?: ForwardTarget;
  /** Group allowed on the shell's RPC socket (0660): the kiosk user's; without one, root's only. */
  shellGroup?: number;
  /** Group allowed on the admin socket (0660); without one it is root's only (0600). */
  adminGroup?: number;
  /** The workstation's user, whose password unlocks (else the policy's session.user, else the kiosk unit's). */
  shellUser?: string;
  /** A training session (the policy must say `training: allowed`): the scenario, the trainee, where the report goes. */
  training?: { scenarioFile: string; trainee: string; reportDir: string };
  /** The host's sound server and the account the relay reaches it as; none: the cages' sound is discarded. */
  hostSound?: HostSoundTarget | null;
  /** How often sysfs is rescanned for USB devices (udev events also trigger a rescan). */
  deviceScanMs?: number;
  /** Warm the gateway's hot path this long after start-up (gatewayWarmUp.ts); none by default. */
  gatewayWarmUp?: { rounds: number; afterMs: number };
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export { TrainingRefused } from './training/trainingDesk';

export interface ReloadOutcome {
  decision: 'applied' | 'unchanged' | 'pending-restart' | 'refused';
  reason?: string;
  changes: string[];
  restarted: string[];
}

export class Supervisor {
  readonly cages = new Map<string, CageLifecycle>();
  readonly focus: FocusState;
  readonly tickets = new TicketRegistry();
  readonly gateway: VncGateway;
  readonly journal: FileAuditJournal;
  readonly launches = new ShellLaunches();
  readonly trust: TrustPhraseStore;
  readonly confirmations: Confirmations;
  readonly clipboard: ClipboardBroker;
  readonly files: FileBroker;
  readonly devices: DeviceBroker;
  readonly lock: SessionLock;
  private readonly diode: EncryptingDiode;
  private readonly tunnels = new Map<string, TunnelView>();
  readonly audio: AudioBroker;
  /** The workstation's smart card, per level (null: the policy gives it to none). */
  readonly smartcard: SmartcardBroker | null;
  readonly training: TrainingDesk;
  readonly apps: AppLauncher;
  private readonly sleepGuard: SleepGuard;
  private gatewayWarmUp: { stop(): Promise<void> } | null = null;
  private readonly deviceWatcher: DeviceWatcher;
  private readonly mediaMounts: MediaMounts;
  private readonly cageClipboards: XCageClipboards;
  private readonly screens: CageScreens;
  /** The cages' keyboard layout (policy, else the host's), as the shell shows it. */
  private readonly keyboardLayout: () => KeyboardLayoutView;
  private readonly sessions = new RpcSessions();
  private host: BrowserHost | null = null;
  private unixServer: Server | null = null;
  private adminServer: Server | null = null;
  private readonly startedAt = new Date().toISOString();
  private readonly forwarder: JournalForwarder;
  private readonly drivers = new Map<string, CageDriver>();
  /** The one running policy every broker reads (runningPolicy.ts). */
  readonly policyStore: RunningPolicy;
  private get policy(): Policy {
    return this.policyStore.current();
  }
  private get policyText(): string {
    return this.policyStore.text;
  }
  /** The secure-attention key for the running policy, in every form the gateway may see it. */
  private sak: SakKey;
  private reloading: Promise<unknown> = Promise.resolve();
  private readonly stagingDir: string;

  constructor(private readonly options: SupervisorOptions) {
    const { policy } = options;
    mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
    mkdirSync(options.runDir, { recursive: true, mode: 0o700 });
    this.journal = new FileAuditJournal(join(options.stateDir, 'audit.jsonl'));
    this.stagingDir = join(options.runDir, 'staging');
    const fingerprint = (text: string) => this.journal.fingerprint(createHash('sha256').update(text).digest('hex'));
    this.forwarder = new JournalForwarder(options.forwardJournal ?? { kind: 'none' }, { fingerprint, ...(options.log ? { log: options.log } : {}) });
    this.journal.onRecord((record) => this.forwarder.forward(record));
    this.trust = new TrustPhraseStore(options.stateDir);
    // The lowest level is in front at start: the everyday workspace.
    const lowest = [...policy.levels].sort((a, b) => a.rank - b.rank)[0];
    if (!lowest) throw new Error('policy has no level');
    this.focus = new FocusState(policy.levels.map((l) => l.id), lowest.id);
    this.policyStore = new RunningPolicy(policy, options.policyText, options.policySource);
    this.sak = sakKey(policy.shortcuts.secureAttention);
    // Brokers read the policy through this getter, so a reloaded policy applies to them at once.
    const current = () => this.policy;
    /** The uid a level's bwrap cage runs as; null for a level whose cage is not ours (vnc). */
    const bwrapUidOf = (level: string): number | null => {
      const index = current().levels.findIndex((l) => l.id === level);
      const cage = current().levels[index]?.cage;
      return cage?.driver === 'bwrap' ? cageUid(cage, index) : null;
    };
    // Before the drivers: each bwrap cage binds its level's card folder.
    const card = current().smartcard;
    this.smartcard = card ? new SmartcardBroker({ policy: card, dir: `${options.runDir}-card`, cageGid: (level) => bwrapUidOf(level) ?? 0, record: (kind, actor, fields) => this.journalFact(kind, fields, actor), ...(options.log ? { log: options.log } : {}) }) : null;
    this.smartcard?.on('change', (view) => this.sessions.broadcast('onSmartcard', view));
    policy.levels.forEach((level, index) => {
      const driver = this.createDriver(level, index);
      this.drivers.set(level.id, driver);
      const lifecycle = new CageLifecycle({ level: level.id, driver });
      lifecycle.on('status', (state) => {
        if (state.status === 'running') {
          this.screens.cageRunning(level.id);
          this.followTunnel(level.id, lifecycle);
          const sound = lifecycle.cage?.sound;
          if (sound) this.audio.attach(level.id, { dir: '', ...sound });
        } else {
          this.tunnelGone(level.id);
          this.audio.detach(level.id);
        }
        // A cage's state is a fact, not a decision: it is shown even when it cannot be journaled.
        this.journalFact(`cage.${state.status}`, { level: state.level, restarts: state.restarts, ...(state.detail ? { detail: state.detail } : {}) });
        this.sessions.broadcast('onCageStatus', state);
        options.log?.('cage status', { level: state.level, status: state.status, restarts: state.restarts, ...(state.detail ? { detail: state.detail } : {}) });
      });
      lifecycle.on('notice', (state, notice) => {
        if (notice.message) this.journalFact('cage.limit', { level: state.level, limit: notice.limit, detail: notice.message });
        this.sessions.broadcast('onCageStatus', state);
        options.log?.('cage limit', { level: state.level, limit: notice.limit });
      });
      this.cages.set(level.id, lifecycle);
    });
    let keyboard = resolveKeyboardLayout(policy.keyboard);
    this.keyboardLayout = () => keyboard;
    const setKeymaps = keepCageKeymaps(this.cages, (l) => this.drivers.get(l), this.keyboardLayout, (level, err) =>
      this.journalFact(err ? 'cage.keymap-failed' : 'cage.keymap', { level, ...keyboard, ...(err ? { detail: err.message } : {}) }),
    );
    // A reload that changes the layout sets it on the running cages at once (shells show it at their next description).
    this.policyStore.onChange((next, previous) => {
      if (JSON.stringify(next.keyboard) === JSON.stringify(previous.keyboard)) return;
      keyboard = resolveKeyboardLayout(next.keyboard);
      setKeymaps();
    });
    this.focus.on('change', (level) => this.sessions.broadcast('onFocus', { level }));
    this.confirmations = new Confirmations({
      publish: (request) => this.sessions.broadcast('onConfirmRequest', request),
      settle: (id, answer) => this.sessions.broadcast('onConfirmSettled', { id, answer }),
      // While the user is asked, no cage gets input: the supervisor decides, not the renderer.
      onWaiting: (waiting) => this.focus.setSuspended(waiting, 'dialog'),
    });
    this.audio = new AudioBroker({
      policy: () => current().audio,
      levels: () => current().levels.map((l) => l.id),
      host: new HostSound(options.hostSound ?? null),
      record: (kind, actor, fields) => this.journalFact(kind, fields, actor),
    });
    this.audio.on('change', (view) => this.sessions.broadcast('onAudio', view));
    this.diode = new EncryptingDiode(join(options.stateDir, 'diode'), hostname().replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 63) || 'cloison');
    this.screens = new CageScreens({ policy: current, x11DirOf: (level) => this.x11DirOf(level), ...(options.log ? { log: options.log } : {}) });
    this.cageClipboards = new XCageClipboards(
      (level) => this.drivers.get(level),
      (level) => Boolean(this.cages.get(level)?.cage),
    );
    this.files = new FileBroker({
      get policy() {
        return current();
      },
      confirmations: this.confirmations,
      journal: this.journal,
      stagingDir: this.stagingDir,
      onProgress: (p) => this.sessions.broadcast('onTransferProgress', p),
      diode: this.diode,
      homeOf: (level) => {
        const uid = bwrapUidOf(level);
        return uid === null ? null : { home: bwrapCagePaths(options.stateDir, options.runDir, level).home, uid };
      },
    });
    this.clipboard = new ClipboardBroker({
      get policy() {
        return current();
      },
      clipboards: this.cageClipboards,
      confirmations: this.confirmations,
      journal: this.journal,
      onChange: (held) => this.sessions.broadcast('onClipboard', { held }),
    });
    this.mediaMounts = new MediaMounts(mediaRootOf(options.runDir));
    this.devices = new DeviceBroker({
      get policy() {
        return current();
      },
      mounts: this.mediaMounts,
      journal: this.journal,
      cageUidOf: bwrapUidOf,
      stationKeys: loadOrCreateStationKeys(join(options.stateDir, 'usb-mark.key')),
      confirm: (question) => this.confirmations.ask(question),
    });
    this.devices.on('change', (devices) => {
      // A device waiting for the user's decision has its trusted dialog up: no cage gets input.
      this.focus.setSuspended(devices.some((d) => d.state === 'waiting'), 'device');
      this.sessions.broadcast('onDevices', { devices });
    });
    this.training = this.createTrainingDesk();
    this.apps = new AppLauncher({ policy: current, cages: this.cages, journal: this.journal });
    // Training keys are loop devices over images of the desk's own; a policy that allows training allows those.
    // Read at each scan from the running policy: a reload that changes it applies at the next scan (made at once).
    const trainingKeysDir = this.trainingKeysDir;
    this.deviceWatcher = new DeviceWatcher({
      get loopBackingDir() {
        return loopBackingDirOf(current(), trainingKeysDir);
      },
      ...(options.deviceScanMs ? { intervalMs: options.deviceScanMs } : {}),
    });
    this.policyStore.onChange(() => this.deviceWatcher.rescan());
    this.deviceWatcher.on('arrived', (device) => void this.devices.arrived(device).catch((err: Error) => options.log?.('device arrival failed', { error: err.message })));
    this.deviceWatcher.on('removed', (device) => void this.devices.removed(device).catch((err: Error) => options.log?.('device removal failed', { error: err.message })));
    this.sleepGuard = new SleepGuard({
      onSleep: () => this.lock.lock('suspend'),
      onState: () => this.sessions.broadcast('onLock', this.lock.view()),
      ...(options.log ? { log: options.log } : {}),
    });
    // Fixed now, never learnt from whoever connects later (issue #27).
    const workstation = resolveWorkstationUser({ shellUser: options.shellUser, policyUser: policy.session.user });
    if (workstation.problem) options.log?.('nobody can unlock this workstation', { reason: workstation.problem });
    this.lock = new SessionLock({
      policy: () => current().session,
      record: (kind, actor, fields) => this.journalFact(kind, fields, actor),
      checkPassword: (user, password) => checkUnlockPassword(current().session.pamService, user, password, workstation.user!),
      user: workstation.user,
      ...(workstation.problem ? { noUserReason: workstation.problem } : {}),
      markerFile: join(options.stateDir, 'session.locked'),
      failuresFile: join(options.stateDir, 'unlock-failures.json'),
      beforeSleep: () => this.sleepGuard.state,
    });
    this.gateway = new VncGateway({
      tickets: this.tickets,
      focus: this.focus,
      // Locked, no viewer connects: no cage pixel reaches any screen until the user unlocks.
      refusal: () => (this.lock.locked ? 'the workstation is locked' : null),
      endpointOf: (level) => this.cages.get(level)?.cage?.endpoint ?? null,
      verifyPeerOf: (level) => {
        const cage = this.cages.get(level)?.cage;
        return cage?.verifyPeer ? (socket) => cage.verifyPeer!(socket) : undefined;
      },
      journal: this.journal,
      // The secure-attention key never reaches a cage, even if a renderer bug let it through.
      reservedKey: (keysym, scancode) => isSakRfbKey(this.sak, keysym, scancode),
      onViewers: (viewers) => this.sessions.broadcast('onViewers', { viewers }),
      ...(options.log ? { log: options.log } : {}),
    });
    // Locked: no input to any cage, no viewer open, no question left waiting (nothing crosses).
    const applyLock = (locked: boolean) => {
      this.focus.setSuspended(locked, 'lock');
      if (!locked) return;
      this.gateway.disconnectAll('the workstation is locked');
      this.audio.setMicrophone(null, 'supervisor'); // nobody at the workstation: nobody to listen for
      // Nobody at the workstation: an exclusive card goes back, its holder's sessions end (a shared one stays).
      void this.smartcard?.take('supervisor').catch((err: Error) => this.options.log?.('smart card not taken back at lock', { error: err.message }));
      this.confirmations.expireAll();
    };
    applyLock(this.lock.locked);
    this.lock.on('change', (view) => {
      // The shells first: their frames go before the viewers' connections do.
      this.sessions.broadcast('onLock', view);
      applyLock(view.locked);
      // Unlocked: the lock before sleep holds again (a forged "going to sleep" may have released it).
      if (!view.locked) this.sleepGuard.hold();
    });
  }

  private get trainingKeysDir(): string {
    return join(this.options.runDir, 'training', 'keys');
  }

  /** The trainer's desk: sessions against these cages, if the policy allows them. */
  private createTrainingDesk(): TrainingDesk {
    const current = () => this.policy;
    const desk = new TrainingDesk({
      policy: current,
      reportDir: join(this.options.stateDir, 'training-reports'),
      record: (kind, fields, actor) => this.journalFact(kind, fields, actor),
      onView: (view) => this.sessions.broadcast('onTraining', view),
      onFlow: (flow) => this.sessions.broadcast('onFlow', flow),
      context: {
        get levels() {
          return levelViews(current());
        },
        cage: (level) => {
          const running = this.cages.get(level)?.cage;
          return running?.launcher ? running : null;
        },
        keyPresses: (level) => this.gateway.keyPresses(level),
        writeClipboard: (level, text) => this.cageClipboards.write(level, text),
        plugKey: (spec) => plugTrainingKey(this.trainingKeysDir, spec),
        deviceSettled: (serial) => this.deviceSettled(serial),
        now: Date.now,
      },
    });
    this.journal.onRecord((record) => desk.observe(record));
    return desk;
  }

  /** Resolves when no device with that serial is being attached or prepared (or after 15 s). */
  private deviceSettled(serial: string): Promise<void> {
    const busy = () => this.devices.list().some((d) => d.serial === serial && (d.state === 'attaching' || d.state === 'preparing' || d.state === 'ejecting'));
    return new Promise((resolve) => {
      if (!busy()) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.devices.off('change', check);
        resolve();
      };
      const check = () => (busy() ? undefined : done());
      const timer = setTimeout(done, 15_000);
      this.devices.on('change', check);
    });
  }

  /** Every level on a WireGuard network: its tunnel as last measured. */
  tunnelViews(): TunnelView[] {
    return [...this.tunnels.values()];
  }

  /** A running cage's tunnel: each change shown to the shells, each change of state journaled. */
  private followTunnel(level: string, lifecycle: CageLifecycle): void {
    const tunnel = lifecycle.cage?.tunnel;
    if (!tunnel) return;
    const show = (view: TunnelView) => {
      const before = this.tunnels.get(level);
      this.tunnels.set(level, view);
      if (before?.state !== view.state) this.journalFact('tunnel.state', { level, state: view.state, endpoint: view.endpoint, ...(view.reason ? { reason: view.reason } : {}) });
      this.sessions.broadcast('onTunnel', view);
    };
    show(tunnel.current());
    tunnel.onChange(show);
  }

  private tunnelGone(level: string): void {
    const view = this.tunnels.get(level);
    if (!view || view.state === 'down') return;
    const down = { ...view, state: 'down' as const, reason: 'the cage is not running' };
    this.tunnels.set(level, down);
    this.sessions.broadcast('onTunnel', down);
  }

  /** A one-time address for a new browser-host shell; null when the browser shell is off. */
  launchUrl(): { url: string; expiresInMs: number } | null {
    if (!this.options.browserShell || !this.host) return null;
    return { url: `${this.host.origin}/#launch=${this.launches.issue()}`, expiresInMs: 120_000 };
  }

  /** Records what happened (not a decision to refuse); a journal that cannot be written is logged. */
  private journalFact(kind: string, fields: Record<string, string | number | boolean | null>, actor: 'supervisor' | 'user' | 'admin' = 'supervisor'): void {
    try {
      this.journal.append(kind, actor, fields);
    } catch (err) {
      this.options.log?.('journal record lost', { kind, error: (err as Error).message });
    }
  }

  get handlers() {
    const current = () => this.policy;
    return createRpcHandlers({
      get policy() {
        return current();
      },
      cages: this.cages,
      focus: this.focus,
      tickets: this.tickets,
      journal: this.journal,
      trust: this.trust,
      clipboard: this.clipboard,
      files: this.files,
      confirmations: this.confirmations,
      devices: this.devices,
      lock: this.lock,
      viewers: () => this.gateway.viewers(),
      launchUrl: () => this.launchUrl(),
      viewerOrigins: () => this.host?.viewerOrigins ?? {},
      tunnels: () => this.tunnelViews(),
      audio: this.audio,
      smartcard: this.smartcard,
      training: this.training,
      apps: this.apps,
      screens: this.screens,
      keyboard: this.keyboardLayout,
    });
  }

  get browserHost(): BrowserHost | null {
    return this.host;
  }

  get adminSocketPath(): string {
    return join(this.options.runDir, 'admin.sock');
  }

  private get adminHandlers(): AdminHandlers {
    const sha256 = () => createHash('sha256').update(this.policyText).digest('hex');
    return {
      status: (): AdminStatus => {
        const devices: AdminStatus['devices'] = {};
        for (const d of this.devices.list()) devices[d.state] = (devices[d.state] ?? 0) + 1;
        return {
          policySource: this.options.policySource,
          policySha256: sha256(),
          since: this.startedAt,
          cages: [...this.cages.values()].map((c) => c.state),
          devices,
          locked: this.lock.locked,
          tunnels: this.tunnelViews(),
          journal: { records: this.journal.records, failures: this.journal.failures },
        };
      },
      'policy.get': () => ({ source: this.options.policySource, sha256: sha256(), policy: this.policy }),
      'policy.reload': () => this.reloadPolicy(),
      // An administrator may lock a workstation, never unlock it.
      'session.lock': () => {
        this.lock.lock('admin');
        return { locked: true };
      },
      ...trainingAdminHandlers(this.training),
    };
  }

  get rpcSocketPath(): string {
    return join(this.options.runDir, 'supervisor.sock');
  }

  /** The running policy and its text (as last loaded or reloaded). */
  get runningPolicy(): { policy: Policy; text: string; source: string } {
    return { policy: this.policy, text: this.policyText, source: this.options.policySource };
  }

  /**
   * Re-reads the policy file (SIGHUP, admin socket). An invalid policy is refused and the running
   * one stays; a valid one applies at once to the brokers, and only the cages whose own
   * definition changed restart. Adding, removing or reordering levels waits for the next start.
   */
  reloadPolicy(): Promise<ReloadOutcome> {
    const run = this.reloading.then(() => this.reloadNow());
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(): Promise<ReloadOutcome> {
    let text: string;
    let next: Policy;
    try {
      ({ policy: next, text } = this.policyStore.readSource());
    } catch (err) {
      const reason = (err as Error).message.slice(0, 2000);
      this.journal.append('policy.reload', 'admin', { decision: 'refused', reason: reason.slice(0, 500) });
      return { decision: 'refused', reason, changes: [], restarted: [] };
    }
    const sha256 = createHash('sha256').update(text).digest('hex');
    const changes = policyChanges(this.policy, next);
    const described = describeChanges(changes);
    if (!hasChanges(changes)) {
      this.journal.append('policy.reload', 'admin', { decision: 'unchanged', sha256 });
      return { decision: 'unchanged', changes: described, restarted: [] };
    }
    if (changes.levelSetChanged) {
      this.journal.append('policy.reload', 'admin', { decision: 'pending-restart', sha256, changes: described.join('; ') });
      return { decision: 'pending-restart', changes: described, restarted: [] };
    }
    this.policyStore.replace(next, text);
    this.sak = sakKey(next.shortcuts.secureAttention);
    this.lock.policyChanged();
    this.training.policyChanged();
    for (const id of changes.cages) {
      const index = next.levels.findIndex((l) => l.id === id);
      const driver = this.createDriver(next.levels[index]!, index);
      this.drivers.set(id, driver);
      await this.cages.get(id)!.replaceDriver(driver, 'restarting: its definition changed in the policy');
    }
    // Shells redraw the band and frames at once; shortcut changes apply when a shell restarts.
    if (changes.views.length > 0) this.sessions.broadcast('onLevels', { levels: levelViews(next) });
    this.journal.append('policy.reload', 'admin', { decision: 'applied', sha256, changes: described.join('; '), restarted: changes.cages.join(',') });
    return { decision: 'applied', changes: described, restarted: changes.cages };
  }

  private createDriver(level: LevelPolicy, index: number): CageDriver {
    const { options } = this;
    return level.cage.driver === 'bwrap'
      ? new BwrapDriver({
          level: level.id,
          cage: level.cage,
          uid: cageUid(level.cage, index),
          paths: bwrapCagePaths(options.stateDir, options.runDir, level.id),
          sound: cageSoundOf(this.policy, level.id),
          smartcard: this.smartcard?.endpoint(level.id) ?? null,
          ...(options.log ? { log: options.log } : {}),
        })
      : new VncDriver({ cage: level.cage });
  }

  private x11DirOf(level: string): string | null {
    const driver = this.drivers.get(level);
    return driver instanceof BwrapDriver && this.cages.get(level)?.cage ? driver.x11Dir : null;
  }

  driverOf(level: string): CageDriver | undefined {
    return this.drivers.get(level);
  }

  /**
   * Starts everything. `onListening` is called as soon as the shell can connect — before the cages
   * have started, so the shell loads while they do (each cage's status reaches it as it changes).
   */
  async start(options: { onListening?: () => void } = {}): Promise<void> {
    const policy = this.policy;
    this.journalFact('policy.load', {
      source: this.options.policySource,
      sha256: createHash('sha256').update(this.policyText).digest('hex'),
      levels: policy.levels.map((l) => l.id).join(','),
    });
    // Before anything listens or runs: a refused session (TrainingRefused, a scenario's PolicyError) starts nothing.
    const { training } = this.options;
    if (training) this.training.startFromFile(training.scenarioFile, training.trainee, training.reportDir);
    const handlers = this.handlers;
    this.unixServer = await listenUnixRpc(this.rpcSocketPath, handlers, this.sessions, this.options.shellGroup !== undefined ? { group: this.options.shellGroup } : {});
    this.adminServer = await listenAdmin(this.adminSocketPath, this.adminHandlers, this.options.adminGroup !== undefined ? { group: this.options.adminGroup } : {});
    this.host = await startBrowserHost({
      rendererDir: this.options.rendererDir,
      shell: this.options.browserShell ?? false,
      launches: this.launches,
      levels: this.policy.levels.map((l) => l.id),
      handlers,
      sessions: this.sessions,
      gateway: this.gateway,
      ...(this.options.port !== undefined ? { port: this.options.port } : {}),
      ...(this.options.extraOrigins ? { extraOrigins: this.options.extraOrigins } : {}),
      ...(this.options.log ? { log: this.options.log } : {}),
    });
    options.onListening?.();
    // The shared media root must exist before any cage binds its folder of it.
    const mediaReady = await this.mediaMounts.prepare(policy.levels.map((l) => l.id)).then(
      () => true,
      (err: Error) => (this.options.log?.('USB devices unavailable: cannot prepare the media mounts', { error: err.message }), false),
    );
    await this.smartcard?.start().catch((err: Error) => this.options.log?.('smart card unavailable: its proxies did not start', { error: err.message }));
    // Cages start in parallel; each reports its own status.
    // A cage left running by the supervisor before this one (crash, restart, upgrade) is re-adopted if it checks out.
    await Promise.all([...this.cages.values()].map((c) => adoptOrStart(c, this.drivers.get(c.level), (kind, fields) => this.journalFact(kind, fields), this.options.log)));
    // The file broker's staging area: as large as the largest transfer any rule allows.
    const files = policy.files;
    const largest = Math.max(files.up.maxTotalBytes, files.down.maxTotalBytes, files.lateral.maxTotalBytes, ...files.pairs.map((p) => p.maxTotalBytes ?? 0));
    await mountStagingArea(this.stagingDir, largest).catch((err: Error) => this.options.log?.('file staging on the run folder\'s filesystem: no tmpfs', { error: err.message }));
    // A transfer cut short by a killed supervisor leaves nothing half-written behind.
    await this.files.cleanPartials().catch((err: Error) => this.options.log?.('cleaning partial transfers failed', { error: err.message }));
    if (mediaReady) this.deviceWatcher.start();
    this.sleepGuard.start();
    await this.audio.start();
    const warmUp = this.options.gatewayWarmUp;
    if (warmUp) this.gatewayWarmUp = scheduleGatewayWarmUp({ ...warmUp, gateway: this.gateway, parentDir: this.options.runDir, ...(this.options.log ? { log: this.options.log } : {}) });
  }

  /** `keepCages`: the cages stay running for the next supervisor to re-adopt (a restart, an upgrade). */
  async stop(options: { keepCages?: boolean } = {}): Promise<void> {
    // First, while the cages run: a drill in course tidies up (its look-alike, its training key) and the report is written.
    await this.training.stop('supervisor', 'supervisor shutting down');
    this.audio.close();
    await this.smartcard?.close();
    this.lock.dispose();
    this.sleepGuard.stop();
    this.files.cancel();
    this.deviceWatcher.stop();
    this.confirmations.refuseAll();
    this.clipboard.dispose();
    this.cageClipboards.dispose();
    this.screens.dispose();
    await this.gatewayWarmUp?.stop();
    this.gateway.close();
    if (!options.keepCages) await Promise.all([...this.cages.values()].map((c) => c.stop('supervisor shutting down')));
    await this.devices.close();
    await this.mediaMounts.unmountAllUnder();
    await unmountStagingArea(this.stagingDir).catch(() => undefined);
    await this.host?.close();
    await new Promise<void>((resolve) => (this.unixServer ? this.unixServer.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.adminServer ? this.adminServer.close(() => resolve()) : resolve()));
    await this.diode.close();
    await this.forwarder.drain();
    this.journal.close();
  }
}
