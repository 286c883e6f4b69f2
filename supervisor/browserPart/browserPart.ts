/**
 * The root part's side of the browser part (partMain.ts): starts it as a child with an IPC
 * channel, under setpriv with no_new_privs and a bounding set holding only what its own drop to
 * `cloison` needs; answers its messages — each parsed as untrusted (partMessages.ts) — with the
 * root part's decisions (shellRelay.ts, viewerAdmission.ts); hands it each admitted viewer's cage
 * socket as a descriptor; tells it the front level, the input suspension and the secure-attention
 * key. If it ends while the supervisor runs, it is started again on the same ports (the shells
 * reconnect with their resume tokens); the cages and this part run on.
 */
import { join } from 'node:path';
import { RestartBackoff, unprivilegedPartCommand } from '../sandbox/unprivilegedPart';
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { SakKey } from '../../shared/keysyms';
import type { AuditJournal } from '../audit/auditJournal';
import { journalWriterAccount } from '../audit/journalKey';
import type { FocusState } from '../gateway/focusState';
import type { ViewerInfo } from '../gateway/vncGateway';
import { partToRootSchema, PART_START_ENV, type PartStart, type PartToRoot, type RootToPart } from './partMessages';
import { ShellRelay, type ShellRelayOptions } from './shellRelay';
import type { ViewerAdmission } from './viewerAdmission';

export interface BrowserPartOptions {
  rendererDir: string | null;
  shell: boolean;
  levels: string[];
  port?: number;
  extraOrigins?: string[];
  warmUp?: { rounds: number; afterMs: number };
  /** The part's own folder is made here (the supervisor's run folder). */
  runDir: string;
  focus: FocusState;
  sak: () => SakKey;
  shells: Omit<ShellRelayOptions, 'send'>;
  admitViewer: ViewerAdmission;
  journal?: AuditJournal;
  onViewers: (viewers: ViewerInfo[]) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Another script in the part's place, started and restricted the same way (tests: a compromised part). */
  partScript?: string;
}

/** How long the part has to listen. */
const START_TIMEOUT_MS = 30_000;
/** Messages from the part that did not parse, before it is stopped (and started again). */
const MAX_BAD_MESSAGES = 100;

export class BrowserPart {
  private child: ChildProcess | null = null;
  private readonly relay: ShellRelay;
  private stopping = false;
  private boundPort = 0;
  private viewerPorts: Record<string, number> = {};
  private current: ViewerInfo[] = [];
  private readonly keys = new Map<string, number>();
  private readonly backoff = new RestartBackoff({
    start: () => this.spawnPart(),
    stopping: () => this.stopping,
    failed: (err) => this.options.log?.('browser part did not start again', { error: err.message }),
  });
  /** Messages from the part refused by their schema (a test reads it). */
  refused = 0;

  constructor(private readonly options: BrowserPartOptions) {
    this.relay = new ShellRelay({ ...options.shells, send: (m) => this.send(m) });
    const pushFocus = () => this.send({ type: 'focus', front: options.focus.front, suspended: options.focus.inputSuspended });
    options.focus.on('change', pushFocus);
    options.focus.on('suspend', pushFocus);
    options.focus.on('release', pushFocus);
  }

  /** Starts the part; resolves once it listens. */
  async start(): Promise<void> {
    this.boundPort = this.options.port ?? 0;
    await this.spawnPart();
  }

  get origin(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Each level's viewer origin: its own loopback address (browserHost.ts), in the policy's order. */
  get viewerOrigins(): Record<string, string> {
    return Object.fromEntries(this.options.levels.flatMap((level, index) => (this.viewerPorts[level] ? [[level, `http://127.0.0.${10 + index}:${this.viewerPorts[level]}`]] : [])));
  }

  /** The part's pid (tests), or null between two starts. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  viewers(): ViewerInfo[] {
    return this.current;
  }

  /** Keys the gateway delivered to that cage, as the part counts them (training drills). */
  keyPresses(level: string): number {
    return this.keys.get(level) ?? 0;
  }

  disconnectAll(reason: string): void {
    this.send({ type: 'viewers.disconnect', reason });
  }

  sakChanged(): void {
    this.send({ type: 'sak', sak: this.options.sak() });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => (clearTimeout(timer), resolve()));
    });
  }

  private send(message: RootToPart, handle?: unknown): void {
    if (this.child?.connected) this.child.send(message, handle as never);
  }

  private partDir(account: { uid: number; gid: number } | null): string {
    const dir = join(this.options.runDir, 'browser-part');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { mode: 0o700 });
    if (account) chownSync(dir, account.uid, account.gid);
    return dir;
  }

  private spawnPart(): Promise<void> {
    const root = process.getuid?.() === 0;
    const account = root ? journalWriterAccount() : null;
    if (root && !account) throw new Error('the system user "cloison" is missing (scripts/setup.sh and the package make it): the browser part does not run as root');
    const start: PartStart = {
      rendererDir: this.options.rendererDir,
      shell: this.options.shell,
      levels: this.options.levels,
      front: this.options.focus.front,
      port: this.boundPort,
      viewerPorts: this.viewerPorts,
      extraOrigins: this.options.extraOrigins ?? [],
      account,
      partDir: this.partDir(account),
      sak: this.options.sak(),
      warmUp: this.options.warmUp ?? null,
    };
    const { command, args } = partCommand(root, this.options.partScript);
    const child = spawn(command, args, {
      // A process group of its own: a terminal's Ctrl+C or a group's SIGTERM is for the root part,
      // which stops it (stop()); the root part gone, its channel closes and it ends (partMain.ts).
      detached: true,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: process.env.LANG ?? 'C.UTF-8', [PART_START_ENV]: JSON.stringify(start) },
    });
    this.child = child;
    let bad = 0;
    return new Promise<void>((resolve, reject) => {
      let listening = false;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the browser part did not listen within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      child.on('message', (raw: unknown) => {
        const parsed = partToRootSchema.safeParse(raw);
        if (!parsed.success) {
          this.refused++;
          if (++bad === MAX_BAD_MESSAGES) child.kill('SIGKILL');
          if (bad <= 3) this.options.log?.('browser part: message refused', { issue: parsed.error.issues[0]?.message });
          return;
        }
        const message = parsed.data;
        if (message.type === 'listening' && !listening) {
          listening = true;
          clearTimeout(timer);
          this.boundPort = message.port;
          this.viewerPorts = Object.fromEntries(this.options.levels.flatMap((l) => (message.viewerPorts[l] ? [[l, message.viewerPorts[l]]] : [])));
          this.send({ type: 'focus', front: this.options.focus.front, suspended: this.options.focus.inputSuspended });
          return resolve();
        }
        if (message.type === 'failed' && !listening) {
          clearTimeout(timer);
          return reject(new Error(`the browser part could not start: ${message.error}`));
        }
        // What the part says must never throw here: the root part runs the cages' decisions.
        try {
          this.handle(message);
        } catch (err) {
          this.refused++;
          this.options.log?.('browser part: message not acted on', { type: message.type, error: (err as Error).message.slice(0, 200) });
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        this.partGone();
        if (!listening) return reject(new Error(`the browser part exited before it listened (${signal ?? code})`));
        if (this.stopping) return;
        this.options.log?.('browser part ended: starting it again', { code, signal });
        this.options.journal?.append('browserPart.restart', 'supervisor', { reason: signal ?? `exit ${code}` });
        this.backoff.restartLater();
      });
    });
  }

  private partGone(): void {
    this.child = null;
    this.relay.partGone();
    if (this.current.length > 0) {
      this.current = [];
      this.options.onViewers([]);
    }
  }

  private handle(message: PartToRoot): void {
    switch (message.type) {
      case 'rpc.admit':
        return this.relay.admit(message.request, message);
      case 'rpc.opened':
        if (!this.relay.opened(message.conn)) this.options.log?.('browser part: a shell opened that was never admitted', { conn: message.conn });
        return;
      case 'rpc.frame':
        this.relay.frame(message.conn, message.text);
        return;
      case 'rpc.closed':
        return this.relay.closed(message.conn);
      case 'vnc.open':
        return void this.openViewer(message.request, message.level, message.ticket).catch((err: Error) => this.options.log?.('viewer not opened', { error: err.message }));
      case 'viewers':
        this.current = message.viewers.filter((v) => this.options.levels.includes(v.level));
        return this.options.onViewers(this.current);
      case 'keys':
        if (this.options.levels.includes(message.level)) this.keys.set(message.level, message.total);
        return;
    }
  }

  private async openViewer(request: number, level: string, ticket: string): Promise<void> {
    const child = this.child;
    const { admission, socket } = await this.options.admitViewer(level, ticket);
    if (!socket) return this.send({ type: 'vnc.opened', request, admission });
    if (this.child !== child || !child?.connected) return void socket.destroy();
    await handOver(child, { type: 'vnc.opened', request, admission }, socket);
  }
}

/**
 * Sends the socket's own handle (so the gateway reads it with its own buffers) and closes this
 * side's descriptor once sent: the root part keeps none and sees none of its bytes.
 */
export function handOver(child: ChildProcess, message: object, socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const handle = (socket as unknown as { _handle: object | null })._handle;
    if (!handle || socket.bytesRead > 0 || socket.readableLength > 0) {
      socket.destroy();
      return resolve();
    }
    child.send(message as never, handle as never, () => {
      socket.destroy();
      resolve();
    });
  });
}

function partCommand(asRoot: boolean, script?: string): { command: string; args: string[] } {
  return unprivilegedPartCommand({ callerUrl: import.meta.url, source: 'partMain.ts', bundle: 'browserPart.js', script }, asRoot);
}
