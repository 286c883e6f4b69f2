/**
 * The cage supervisor, wired: policy, one lifecycle per cage, focus, tickets, VNC gateway, RPC
 * (Unix socket and browser host) and the audit journal. The composition root of the daemon; tests
 * start it in-process with their own directories.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { cageUid, type Policy } from '../shared/policy';
import { FileAuditJournal } from './audit/auditJournal';
import type { CageDriver } from './cages/cageDriver';
import { BwrapDriver, bwrapCagePaths, mediaRootOf } from './cages/bwrapDriver';
import { CageLifecycle } from './cages/cageLifecycle';
import { VncDriver } from './cages/vncDriver';
import { FocusState } from './focusState';
import { TicketRegistry } from './gateway/ticketRegistry';
import { VncGateway } from './gateway/vncGateway';
import { startBrowserHost, type BrowserHost } from './host/browserHost';
import { createRpcHandlers } from './rpc/rpcHandlers';
import { RpcSessions } from './rpc/rpcSession';
import { listenUnixRpc } from './rpc/unixRpcServer';
import { TrustPhraseStore } from './trust/trustPhraseStore';
import { ClipboardBroker } from './clipboard/clipboardBroker';
import { XCageClipboards } from './clipboard/cageClipboards';
import { Confirmations } from './confirm/confirmations';
import { FileBroker } from './files/fileBroker';
import { sakKeysyms } from '../shared/keysyms';
import { DeviceBroker } from './usb/deviceBroker';
import { DeviceWatcher } from './usb/deviceWatcher';
import { MediaMounts } from './usb/mediaMounts';

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
  /** How often sysfs is rescanned for USB devices (udev events also trigger a rescan). */
  deviceScanMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export class Supervisor {
  readonly cages = new Map<string, CageLifecycle>();
  readonly focus: FocusState;
  readonly tickets = new TicketRegistry();
  readonly gateway: VncGateway;
  readonly journal: FileAuditJournal;
  readonly launchToken = randomBytes(24).toString('base64url');
  readonly trust: TrustPhraseStore;
  readonly confirmations: Confirmations;
  readonly clipboard: ClipboardBroker;
  readonly files: FileBroker;
  readonly devices: DeviceBroker;
  private readonly deviceWatcher: DeviceWatcher;
  private readonly mediaMounts: MediaMounts;
  private readonly cageClipboards: XCageClipboards;
  private readonly sessions = new RpcSessions();
  private host: BrowserHost | null = null;
  private unixServer: Server | null = null;
  private readonly drivers = new Map<string, CageDriver>();

  constructor(private readonly options: SupervisorOptions) {
    const { policy } = options;
    mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
    mkdirSync(options.runDir, { recursive: true, mode: 0o700 });
    this.journal = new FileAuditJournal(join(options.stateDir, 'audit.jsonl'));
    this.trust = new TrustPhraseStore(options.stateDir);
    // The lowest level is in front at start: the everyday workspace.
    const lowest = [...policy.levels].sort((a, b) => a.rank - b.rank)[0];
    if (!lowest) throw new Error('policy has no level');
    this.focus = new FocusState(policy.levels.map((l) => l.id), lowest.id);
    policy.levels.forEach((level, index) => {
      const driver: CageDriver =
        level.cage.driver === 'bwrap'
          ? new BwrapDriver({
              level: level.id,
              cage: level.cage,
              uid: cageUid(level.cage, index),
              paths: bwrapCagePaths(options.stateDir, options.runDir, level.id),
              ...(options.log ? { log: options.log } : {}),
            })
          : new VncDriver({ cage: level.cage });
      this.drivers.set(level.id, driver);
      const lifecycle = new CageLifecycle({ level: level.id, driver });
      lifecycle.on('status', (state) => {
        this.journal.append(`cage.${state.status}`, 'supervisor', { level: state.level, restarts: state.restarts, ...(state.detail ? { detail: state.detail } : {}) });
        this.sessions.broadcast('onCageStatus', state);
        options.log?.('cage status', { ...state });
      });
      this.cages.set(level.id, lifecycle);
    });
    this.focus.on('change', (level) => this.sessions.broadcast('onFocus', { level }));
    this.confirmations = new Confirmations({
      publish: (request) => this.sessions.broadcast('onConfirmRequest', request),
      settle: (id, answer) => this.sessions.broadcast('onConfirmSettled', { id, answer }),
    });
    this.cageClipboards = new XCageClipboards(
      (level) => this.drivers.get(level),
      (level) => Boolean(this.cages.get(level)?.cage),
    );
    this.files = new FileBroker({
      policy,
      confirmations: this.confirmations,
      journal: this.journal,
      onProgress: (p) => this.sessions.broadcast('onTransferProgress', p),
      homeOf: (level) => {
        const index = policy.levels.findIndex((l) => l.id === level);
        const cage = policy.levels[index]?.cage;
        if (!cage || cage.driver !== 'bwrap') return null;
        return { home: bwrapCagePaths(options.stateDir, options.runDir, level).home, uid: cageUid(cage, index) };
      },
    });
    this.clipboard = new ClipboardBroker({
      policy,
      clipboards: this.cageClipboards,
      confirmations: this.confirmations,
      journal: this.journal,
      onChange: (held) => this.sessions.broadcast('onClipboard', { held }),
    });
    this.mediaMounts = new MediaMounts(mediaRootOf(options.runDir));
    this.devices = new DeviceBroker({
      policy,
      mounts: this.mediaMounts,
      journal: this.journal,
      cageUidOf: (level) => {
        const index = policy.levels.findIndex((l) => l.id === level);
        const cage = policy.levels[index]?.cage;
        return cage?.driver === 'bwrap' ? cageUid(cage, index) : null;
      },
    });
    this.devices.on('change', (devices) => this.sessions.broadcast('onDevices', { devices }));
    this.deviceWatcher = new DeviceWatcher({
      ...(policy.usb.loopDevices ? { loopBackingDir: policy.usb.loopDevices.backingDir } : {}),
      ...(options.deviceScanMs ? { intervalMs: options.deviceScanMs } : {}),
    });
    this.deviceWatcher.on('arrived', (device) => void this.devices.arrived(device).catch((err: Error) => options.log?.('device arrival failed', { error: err.message })));
    this.deviceWatcher.on('removed', (device) => void this.devices.removed(device).catch((err: Error) => options.log?.('device removal failed', { error: err.message })));
    this.gateway = new VncGateway({
      tickets: this.tickets,
      focus: this.focus,
      endpointOf: (level) => this.cages.get(level)?.cage?.endpoint ?? null,
      // The secure-attention key never reaches a cage, even if a renderer bug let it through.
      reservedKeysym: ((reserved: readonly number[]) => (keysym: number) => reserved.includes(keysym))(sakKeysyms(policy.shortcuts.secureAttention)),
      ...(options.log ? { log: options.log } : {}),
    });
  }

  get handlers() {
    return createRpcHandlers({
      policy: this.options.policy,
      cages: this.cages,
      focus: this.focus,
      tickets: this.tickets,
      journal: this.journal,
      trust: this.trust,
      clipboard: this.clipboard,
      files: this.files,
      confirmations: this.confirmations,
      devices: this.devices,
    });
  }

  get browserHost(): BrowserHost | null {
    return this.host;
  }

  get rpcSocketPath(): string {
    return join(this.options.runDir, 'supervisor.sock');
  }

  driverOf(level: string): CageDriver | undefined {
    return this.drivers.get(level);
  }

  async start(): Promise<void> {
    const { policy, policySource, policyText } = this.options;
    this.journal.append('policy.load', 'supervisor', {
      source: policySource,
      sha256: createHash('sha256').update(policyText).digest('hex'),
      levels: policy.levels.map((l) => l.id).join(','),
    });
    const handlers = this.handlers;
    this.unixServer = await listenUnixRpc(this.rpcSocketPath, handlers, this.sessions);
    this.host = await startBrowserHost({
      rendererDir: this.options.rendererDir,
      token: this.launchToken,
      handlers,
      sessions: this.sessions,
      gateway: this.gateway,
      ...(this.options.port !== undefined ? { port: this.options.port } : {}),
      ...(this.options.extraOrigins ? { extraOrigins: this.options.extraOrigins } : {}),
      ...(this.options.log ? { log: this.options.log } : {}),
    });
    // The shared media root must exist before any cage binds its folder of it.
    const mediaReady = await this.mediaMounts.prepare(policy.levels.map((l) => l.id)).then(
      () => true,
      (err: Error) => (this.options.log?.('USB devices unavailable: cannot prepare the media mounts', { error: err.message }), false),
    );
    // Cages start in parallel; each reports its own status.
    await Promise.all([...this.cages.values()].map((c) => c.start()));
    // A transfer cut short by a killed supervisor leaves nothing half-written behind.
    await this.files.cleanPartials().catch((err: Error) => this.options.log?.('cleaning partial transfers failed', { error: err.message }));
    if (mediaReady) this.deviceWatcher.start();
  }

  async stop(): Promise<void> {
    this.files.cancel();
    this.deviceWatcher.stop();
    this.confirmations.refuseAll();
    this.clipboard.dispose();
    this.cageClipboards.dispose();
    this.gateway.close();
    await Promise.all([...this.cages.values()].map((c) => c.stop('supervisor shutting down')));
    await this.devices.close();
    await this.mediaMounts.unmountAllUnder();
    await this.host?.close();
    await new Promise<void>((resolve) => (this.unixServer ? this.unixServer.close(() => resolve()) : resolve()));
    this.journal.close();
  }
}
