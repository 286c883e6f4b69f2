/**
 * The cage supervisor, wired: policy, one lifecycle per cage, focus, tickets, VNC gateway, RPC
 * (Unix socket and browser host) and the audit journal. The composition root of the daemon; tests
 * start it in-process with their own directories.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TunnelView } from '../shared/rpc';
import type { KeyboardLayoutView } from '../shared/keyboardLayout';
import { RunningPolicy } from './policy/runningPolicy';
import { PolicyReloader, type ReloadOutcome } from './policy/policyReloader';
import type { FileAuditJournal } from './audit/auditJournal';
import type { CageDriver } from './cages/cageDriver';
import type { CageLifecycle } from './cages/cageLifecycle';
import { appQuitMsOf, CageFleet } from './cages/cageFleet';
import { CageTunnels } from './cages/cageTunnels';
import { FocusState } from './gateway/focusState';
import { TicketRegistry } from './gateway/ticketRegistry';
import type { BrowserPart } from './browserPart/browserPart';
import { wireBrowserPart } from './browserPart/browserPartWiring';
import { ShellLaunches } from './host/shellLaunches';
import { ResumeTokenFile } from './session/resumeTokens';
import { createRpcHandlers } from './rpc/rpcHandlers';
import { levelViews } from './policy/levelViews';
import { RpcSessions } from './rpc/rpcSession';
import { TrustPhraseStore } from './trust/trustPhraseStore';
import { ClipboardBroker } from './clipboard/clipboardBroker';
import { XCageClipboards } from './clipboard/cageClipboards';
import { CageScreens, screenThrough } from './screen/cageScreens';
import { followKeyboardLayout } from './keyboard/keyboardWiring';
import { Confirmations } from './confirm/confirmations';
import { FileBroker } from './files/fileBroker';
import { sakKey, type SakKey } from '../shared/keysyms';
import { DeviceBroker } from './usb/deviceBroker';
import { adminHandlers } from './admin/adminHandlers';
import { factRecorder, openJournal, type FactRecorder } from './audit/journalWiring';
import { DeviceWatcher } from './usb/deviceWatcher';
import type { KeyMounts } from './usb/keyRootActs';
import { wireUsb } from './usb/usbWiring';
import { EncryptingDiode } from './files/encryptingDiode';
import { hostname } from 'node:os';
import { SessionLock } from './session/sessionLock';
import { partSides } from './cageManager/partSides';
import type { RemoteCageHomes } from './cageManager/remoteCageHomes';
import type { LockBeforeSleep } from './session/sleepGuard';
import { AudioBroker } from './audio/audioBroker';
import type { SmartcardBroker } from './smartcard/smartcardBroker';
import { wireSmartcard } from './smartcard/smartcardWiring';
import { HostSound } from './audio/hostSound';
import { TrainingDesk } from './training/trainingDesk';
import { AppLauncher } from './apps/appLauncher';
import { createTrainingDesk, trainingKeysDir } from './training/trainingWiring';
import { Disposables } from './system/disposables';
import type { SupervisorOptions } from './supervisorOptions';
import { StartThenStop } from './system/startThenStop';
import { listen } from './supervisorListeners';
import { runStartSequence, StartGate, type StartParts } from './lifecycle/startSequence';
import { quitAppsThen, StoppingState } from './lifecycle/stopNotice';

export { TrainingRefused } from './training/trainingDesk';
export class Supervisor {
  readonly fleet: CageFleet;
  readonly cages: Map<string, CageLifecycle>;
  readonly focus: FocusState;
  readonly tickets = new TicketRegistry();
  /** The process that accepts browser connections (the shell's page, its RPC, the VNC gateway), as `cloison`. */
  readonly part: BrowserPart;
  readonly journal: FileAuditJournal;
  readonly launches: ShellLaunches;
  readonly trust: TrustPhraseStore;
  readonly confirmations: Confirmations;
  readonly clipboard: ClipboardBroker;
  readonly files: FileBroker;
  readonly devices: DeviceBroker;
  readonly lock: SessionLock;
  private readonly diode: EncryptingDiode;
  private readonly tunnels: CageTunnels;
  readonly audio: AudioBroker;
  /** The workstation's smart card, per level (null: the policy gives it to none). */
  readonly smartcard: SmartcardBroker | null;
  readonly training: TrainingDesk;
  readonly apps: AppLauncher;
  private readonly sleepGuard: LockBeforeSleep;
  private readonly deviceWatcher: DeviceWatcher;
  private readonly mediaMounts: KeyMounts;
  /** The cages' homes through the cage manager (the `cloison` part); null: the root supervisor reaches them itself. */
  private readonly remoteHomes: RemoteCageHomes | null;
  private readonly cageClipboards: XCageClipboards;
  private readonly screens: CageScreens;
  /** The cages' keyboard layout (policy, else the host's), as the shell shows it. */
  private readonly keyboardLayout: () => KeyboardLayoutView;
  private readonly sessions = new RpcSessions();
  private readonly stopping = new StoppingState((view) => this.sessions.broadcast('onStopping', view)); // kept for a shell that comes during the stop
  private host: BrowserPart | null = null;
  private readonly disposables: Disposables; // how each part that started stops, last started first (stop())
  private keepCages = false;
  private readonly lifecycle = new StartThenStop(); // a stop during the start lets it end first
  private readonly startGate = new StartGate(); // the shell's calls wait for the start's set-up; its address is said before
  private readonly startedAt = new Date().toISOString();
  /** The one running policy every broker reads (runningPolicy.ts). */
  readonly policyStore: RunningPolicy;
  /** The secure-attention key for the running policy, in every form the gateway may see it. */
  private sak: SakKey;
  private readonly reloader: PolicyReloader;
  private readonly stagingDir: string;
  /** Records what happened (not a decision to refuse); a journal that cannot be written is logged. */
  private readonly journalFact: FactRecorder;

  constructor(private readonly options: SupervisorOptions) {
    const { policy } = options;
    mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
    mkdirSync(options.runDir, { recursive: true, mode: 0o700 });
    this.disposables = new Disposables(options.log);
    this.journal = openJournal(options.stateDir, options.forwardJournal, this.disposables, options.log);
    this.journalFact = factRecorder(this.journal, options.log);
    // The cloison part: each root act through the cage manager (cageManager/partSides.ts); root: none.
    const split = partSides(options.manager, options, options.log);
    this.stagingDir = split.stagingDir;
    this.trust = new TrustPhraseStore(options.stateDir);
    this.launches = new ShellLaunches({ store: new ResumeTokenFile(join(options.stateDir, 'shell-resume.json'), options.log) });
    // The lowest level is in front at start: the everyday workspace.
    const lowest = [...policy.levels].sort((a, b) => a.rank - b.rank)[0];
    if (!lowest) throw new Error('policy has no level');
    this.focus = new FocusState(policy.levels.map((l) => l.id), lowest.id);
    this.policyStore = new RunningPolicy(policy, options.policyText, options.policySource, split.policySource(options.policySource));
    this.sak = sakKey(policy.shortcuts.secureAttention);
    // Before the cage fleet: each bwrap cage binds its level's card folder.
    this.smartcard = wireSmartcard({ policy: this.policyStore, runDir: split.managerRunDir, record: (kind, actor, fields) => this.journalFact(kind, fields, actor), show: (view) => this.sessions.broadcast('onSmartcard', view), confirmations: () => this.confirmations ?? null, ...(options.log ? { log: options.log } : {}), ...split.card });
    this.reloader = new PolicyReloader({
      store: this.policyStore,
      journal: this.journal,
      apply: async (next, changes) => {
        this.sak = sakKey(next.shortcuts.secureAttention);
        this.part.sakChanged();
        this.lock.policyChanged();
        this.training.policyChanged();
        await this.fleet.restart(changes.cages, next);
        if (changes.sections.includes('smartcard')) await this.smartcard?.policyChanged();
        // Shells redraw the band and frames at once; shortcut changes apply when a shell restarts.
        if (changes.views.length > 0) this.sessions.broadcast('onLevels', { levels: levelViews(next) });
      },
    });
    this.tunnels = new CageTunnels({ fact: (kind, fields) => this.journalFact(kind, fields), show: (view) => this.sessions.broadcast('onTunnel', view) });
    this.fleet = new CageFleet({
      policy: this.policyStore,
      stateDir: options.stateDir,
      runDir: options.runDir,
      fact: (kind, fields) => this.journalFact(kind, fields),
      smartcard: (level) => this.smartcard?.endpoint(level) ?? null,
      startScreen: (level) => this.screens.startSize(level),
      onState: (state) => this.sessions.broadcast('onCageStatus', state),
      onRunning: (lifecycle) => {
        this.screens.cageRunning(lifecycle.level, lifecycle.cage ?? {});
        this.tunnels.follow(lifecycle.level, lifecycle);
        const sound = lifecycle.cage?.sound;
        if (sound) this.audio.attach(lifecycle.level, { dir: '', ...sound });
      },
      onDown: (level) => {
        this.tunnels.gone(level);
        this.audio.detach(level);
        this.remoteHomes?.forget(level);
      },
      ...split.drivers(() => this.policyStore.current()),
      ...(options.log ? { log: options.log } : {}),
    });
    this.cages = this.fleet.cages;
    const xTools = split.xTools({ policy: this.policyStore, isRunning: (level) => Boolean(this.cages.get(level)?.cage) });
    this.keyboardLayout = followKeyboardLayout(this.policyStore, this.cages, (l) => this.fleet.driverOf(l), (kind, fields) => this.journalFact(kind, fields), xTools, options.displayKeyboard);
    this.focus.on('change', (level) => this.sessions.broadcast('onFocus', { level }));
    this.confirmations = new Confirmations({
      publish: (request) => this.sessions.broadcast('onConfirmRequest', request),
      settle: (id, answer) => this.sessions.broadcast('onConfirmSettled', { id, answer }),
      // While the user is asked, no cage gets input: the supervisor decides, not the renderer.
      onWaiting: (waiting) => this.focus.setSuspended(waiting, 'dialog'),
    });
    this.disposables.add('questions', () => this.confirmations.refuseAll());
    this.audio = new AudioBroker({
      policy: this.policyStore,
      host: new HostSound(options.hostSound ?? null),
      record: (kind, actor, fields) => this.journalFact(kind, fields, actor),
      ...split.audio,
    });
    this.audio.on('change', (view) => this.sessions.broadcast('onAudio', view));
    this.diode = new EncryptingDiode(join(options.stateDir, 'diode'), hostname().replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 63) || 'cloison');
    this.disposables.add('encrypting diode', () => this.diode.close());
    this.screens = new CageScreens({ policy: this.policyStore, x11DirOf: (level) => this.fleet.x11DirOf(level), ...(xTools ? screenThrough(xTools) : {}), rememberIn: join(options.stateDir, 'screens.json'), ...(options.log ? { log: options.log } : {}) });
    this.disposables.add('screens', () => this.screens.dispose());
    this.cageClipboards = new XCageClipboards(
      (level) => this.fleet.driverOf(level),
      (level) => Boolean(this.cages.get(level)?.cage),
      xTools,
    );
    this.disposables.add('cage clipboards', () => this.cageClipboards.dispose());
    this.remoteHomes = split.homes(this.policyStore);
    if (this.remoteHomes) this.disposables.add('file helper channels', () => this.remoteHomes?.close());
    this.files = new FileBroker({
      policy: this.policyStore,
      confirmations: this.confirmations,
      journal: this.journal,
      stagingDir: this.stagingDir,
      onProgress: (p) => this.sessions.broadcast('onTransferProgress', p),
      diode: this.diode,
      ...(this.remoteHomes ? { homes: this.remoteHomes } : { homeOf: (level: string) => this.fleet.homeOf(level) }),
    });
    this.clipboard = new ClipboardBroker({
      policy: this.policyStore,
      clipboards: this.cageClipboards,
      confirmations: this.confirmations,
      journal: this.journal,
      onChange: (held) => this.sessions.broadcast('onClipboard', { held }),
    });
    this.disposables.add('clipboard', () => this.clipboard.dispose());
    ({ mediaMounts: this.mediaMounts, devices: this.devices, deviceWatcher: this.deviceWatcher } = wireUsb({
      policy: this.policyStore,
      stateDir: options.stateDir,
      runDir: options.runDir,
      journal: this.journal,
      confirmations: this.confirmations,
      cageUidOf: (level) => this.fleet.bwrapUidOf(level),
      trainingKeysDir: trainingKeysDir(split.managerRunDir),
      onDevices: (devices) => {
        // A device waiting for the user's decision has its trusted dialog up: no cage gets input.
        this.focus.setSuspended(devices.some((d) => d.state === 'waiting'), 'device');
        this.sessions.broadcast('onDevices', { devices });
      },
      ...(options.deviceScanMs ? { scanMs: options.deviceScanMs } : {}),
      ...(options.log ? { log: options.log } : {}),
    }, split.usbActs));
    this.training = createTrainingDesk({
      policy: this.policyStore,
      stateDir: options.stateDir,
      runDir: split.managerRunDir,
      journal: this.journal,
      record: (kind, fields, actor) => this.journalFact(kind, fields, actor),
      onView: (view) => this.sessions.broadcast('onTraining', view),
      onFlow: (flow) => this.sessions.broadcast('onFlow', flow),
      cages: this.cages,
      devices: this.devices,
      keyPresses: (level) => this.part.keyPresses(level),
      writeClipboard: (level, text) => this.cageClipboards.write(level, text),
      ...split.training,
    });
    this.apps = new AppLauncher({ policy: this.policyStore, cages: this.cages, journal: this.journal, ...split.apps });
    ({ lock: this.lock, sleepGuard: this.sleepGuard } = split.lock({
      policy: this.policyStore,
      stateDir: options.stateDir,
      shellUser: options.shellUser,
      record: (kind, actor, fields) => this.journalFact(kind, fields, actor),
      show: (view) => this.sessions.broadcast('onLock', view),
      apply: (locked) => this.applyLock(locked),
      ...(options.log ? { log: options.log } : {}),
    }));
    this.part = wireBrowserPart(options, {
      focus: this.focus,
      // The secure-attention key never reaches a cage, even if a renderer bug let it through.
      sak: () => this.sak,
      shells: { launches: this.launches, handlers: this.handlers, sessions: this.sessions },
      tickets: this.tickets,
      // Locked, no viewer connects: no cage pixel reaches any screen until the user unlocks.
      refusal: () => (this.lock.locked ? 'the workstation is locked' : null),
      cageOf: (level) => this.cages.get(level)?.cage ?? null,
      journal: this.journal,
      onViewers: (viewers) => this.sessions.broadcast('onViewers', { viewers }),
    });
    this.applyLock(this.lock.locked);
  }

  /** Locked: no input to any cage, no viewer open, no question left waiting (nothing crosses). */
  private applyLock(locked: boolean): void {
    this.focus.setSuspended(locked, 'lock');
    if (!locked) return;
    this.part.disconnectAll('the workstation is locked');
    this.audio.setMicrophone(null, 'supervisor'); // nobody at the workstation: nobody to listen for
    // Nobody at the workstation: an exclusive card goes back, its holder's sessions end (a shared one stays).
    void this.smartcard?.take('supervisor').catch((err: Error) => this.options.log?.('smart card not taken back at lock', { error: err.message }));
    this.confirmations.expireAll();
  }

  /** Every level on a WireGuard network: its tunnel as last measured. */
  tunnelViews(): TunnelView[] {
    return this.tunnels.views();
  }

  /** A one-time address for a new browser-host shell; null when the browser shell is off. */
  launchUrl(): { url: string; expiresInMs: number } | null {
    if (!this.options.browserShell || !this.host) return null;
    return { url: `${this.host.origin}/#launch=${this.launches.issue()}`, expiresInMs: 120_000 };
  }

  get handlers() {
    return this.startGate.hold(createRpcHandlers({
      policy: this.policyStore,
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
      viewers: () => this.part.viewers(),
      launchUrl: () => this.launchUrl(),
      viewerOrigins: () => this.host?.viewerOrigins ?? {},
      tunnels: () => this.tunnels.views(),
      audio: this.audio,
      smartcard: this.smartcard,
      training: this.training,
      apps: this.apps,
      screens: this.screens,
      keyboard: this.keyboardLayout,
      stopping: () => this.stopping.view(),
    }));
  }

  get browserHost(): BrowserPart | null {
    return this.host;
  }

  get adminSocketPath(): string {
    return join(this.options.runDir, 'admin.sock');
  }

  get rpcSocketPath(): string {
    return join(this.options.runDir, 'supervisor.sock');
  }

  /**
   * Re-reads the policy file (SIGHUP, admin socket). An invalid policy is refused and the running
   * one stays; a valid one applies at once to the brokers, and only the cages whose own
   * definition changed restart. Adding, removing or reordering levels waits for the next start.
   */
  reloadPolicy(): Promise<ReloadOutcome> {
    return this.reloader.reload();
  }

  driverOf(level: string): CageDriver | undefined {
    return this.fleet.driverOf(level);
  }

  /**
   * Starts everything. `onListening` is called as soon as the shell can connect — before the cages
   * have started, so the shell loads while they do (each cage's status reaches it as it changes).
   */
  start(options: { onListening?: () => void } = {}): Promise<void> {
    return this.lifecycle.start((checkpoint) => runStartSequence(this.startParts(), checkpoint, options.onListening));
  }

  private startParts(): StartParts {
    return {
      options: this.options,
      policyStore: this.policyStore,
      journalFact: this.journalFact,
      disposables: this.disposables,
      training: this.training,
      part: this.part,
      listen: () =>
        listen(this.options, {
          rpcSocketPath: this.rpcSocketPath,
          adminSocketPath: this.adminSocketPath,
          handlers: this.handlers,
          adminHandlers: adminHandlers({
            policy: this.policyStore,
            since: this.startedAt,
            cages: this.cages,
            devices: this.devices,
            lock: this.lock,
            tunnels: () => this.tunnels.views(),
            journal: this.journal,
            training: this.training,
            reload: () => this.reloadPolicy(),
            manager: this.options.manager, // split: an administrator's reload asks the cage manager first
          }),
          sessions: this.sessions,
          disposables: this.disposables,
        }),
      mediaMounts: this.mediaMounts,
      devices: this.devices,
      deviceWatcher: this.deviceWatcher,
      fleet: this.fleet,
      keepCages: () => this.keepCages,
      smartcard: this.smartcard,
      lock: this.lock,
      sleepGuard: this.sleepGuard,
      files: this.files,
      stagingDir: this.stagingDir,
      audio: this.audio,
      hostReady: () => void (this.host = this.part),
      gate: this.startGate,
    };
  }

  /** `keepCages`: the cages stay running for the next supervisor to re-adopt (a restart, an upgrade). */
  async stop(options: { keepCages?: boolean } = {}): Promise<void> {
    this.keepCages = options.keepCages ?? false;
    // A start under way ends first (startThenStop.ts); the applications asked to close, shown in the shell (stopNotice.ts); then everything stops.
    await this.lifecycle.stop(() => quitAppsThen(this.keepCages ? null : { cages: this.cages, quitMs: (l) => appQuitMsOf(this.policyStore.current().levels, l), show: this.stopping.show }, () => this.disposables.disposeAll()));
  }
}
