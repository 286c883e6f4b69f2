/**
 * The root part's side of the browser part (partMain.ts): starts it (sandbox/partProcess.ts: under
 * setpriv with no_new_privs and a bounding set holding only what its own drop to `cloison` needs,
 * its channel with no Node IPC under it); answers its messages — each parsed as untrusted
 * (partMessages.ts) — with the root part's decisions (shellRelay.ts, viewerAdmission.ts); hands it each admitted viewer's cage
 * socket as a descriptor; tells it the front level, the input suspension and the secure-attention
 * key. If it ends while the supervisor runs, it is started again on the same ports (the shells
 * reconnect with their resume tokens); the cages and this part run on.
 */
import type { Socket } from 'node:net';
import type { SakKey } from '../../shared/keysyms';
import { MAX_RPC_FRAME_BYTES } from '../../shared/rpc';
import type { AuditJournal } from '../audit/auditJournal';
import type { FocusState } from '../gateway/focusState';
import type { ViewerInfo } from '../gateway/vncGateway';
import { UnprivilegedPart } from '../sandbox/partProcess';
import type { EarlyPart } from '../sandbox/partSpawn';
import { browserPartSpawn, type BrowserPartSpawnSettings } from './browserPartSpawn';
import { partToRootSchema } from './partMessageSchema';
import type { PartToRoot, RootToPart } from './partMessages';
import { ShellRelay, type ShellRelayOptions } from './shellRelay';
import type { ViewerAdmission } from './viewerAdmission';

export interface BrowserPartOptions extends BrowserPartSpawnSettings {
  levels: string[];
  port?: number;
  focus: FocusState;
  sak: () => SakKey;
  shells: Omit<ShellRelayOptions, 'send'>;
  admitViewer: ViewerAdmission;
  journal?: AuditJournal;
  onViewers: (viewers: ViewerInfo[]) => void;
  /** Its process spawned before the supervisor was built, with these options' spawn settings (browserPartSpawn.ts): the first start takes it. */
  early?: EarlyPart;
}

/**
 * Its largest message: a shell's RPC frame (MAX_RPC_FRAME_BYTES characters), each character at
 * most 6 bytes once in JSON (\u0000), and the message around it. A frame over this is misbehaviour.
 */
const MAX_MESSAGE_BYTES = 6 * MAX_RPC_FRAME_BYTES + 4096;

export class BrowserPart {
  private readonly part: UnprivilegedPart<PartToRoot, RootToPart>;
  private readonly relay: ShellRelay;
  private boundPort = 0;
  private viewerPorts: Record<string, number> = {};
  private current: ViewerInfo[] = [];
  private readonly keys = new Map<string, number>();

  constructor(private readonly options: BrowserPartOptions) {
    this.part = new UnprivilegedPart({
      ...browserPartSpawn(options),
      ...(options.early ? { early: options.early } : {}),
      // What its start needs that the policy decides, and its ports (the same again at a restart).
      begin: () => ({ type: 'listen', levels: this.options.levels, front: this.options.focus.front, sak: this.options.sak(), port: this.boundPort, viewerPorts: this.viewerPorts }),
      maxMessageBytes: MAX_MESSAGE_BYTES,
      parse: (raw) => {
        const parsed = partToRootSchema.safeParse(raw);
        return parsed.success ? parsed : { success: false, issue: parsed.error.issues[0]?.message ?? 'refused' };
      },
      isReady: (message) => message.type === 'listening',
      started: (message) => {
        if (message.type !== 'listening') return;
        this.boundPort = message.port;
        this.viewerPorts = Object.fromEntries(this.options.levels.flatMap((l) => (message.viewerPorts[l] ? [[l, message.viewerPorts[l]]] : [])));
        this.send({ type: 'focus', front: this.options.focus.front, suspended: this.options.focus.inputSuspended });
      },
      message: (message) => this.handle(message),
      gone: () => this.partGone(),
      restarting: (reason) => this.options.journal?.append('browserPart.restart', 'supervisor', { reason }),
      ...(options.log ? { log: options.log } : {}),
    });
    this.relay = new ShellRelay({ ...options.shells, send: (m) => this.send(m) });
    const pushFocus = () => this.send({ type: 'focus', front: options.focus.front, suspended: options.focus.inputSuspended });
    options.focus.on('change', pushFocus);
    options.focus.on('suspend', pushFocus);
    options.focus.on('release', pushFocus);
  }

  /** Starts the part; resolves once it listens. */
  async start(): Promise<void> {
    this.boundPort = this.options.port ?? 0;
    await this.part.start();
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
    return this.part.pid;
  }

  /** Messages from the part refused by their schema (a test reads it). */
  get refused(): number {
    return this.part.refused;
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
    await this.part.stop();
  }

  private send(message: RootToPart, fd?: number): boolean {
    return this.part.send(message, fd);
  }

  private partGone(): void {
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
    const pid = this.part.pid;
    const { admission, socket } = await this.options.admitViewer(level, ticket);
    if (!socket) return void this.send({ type: 'vnc.opened', request, admission });
    // The part that asked is gone: the socket is for no one.
    if (this.part.pid !== pid || !this.part.ready) return void socket.destroy();
    handOver((message, fd) => this.send(message, fd), { type: 'vnc.opened', request, admission }, socket);
  }
}

/**
 * Sends the socket's descriptor with its message (so the gateway reads it with its own buffers)
 * and closes this side's: the root part keeps none and sees none of its bytes. One already read
 * here is not sent (its first bytes would be lost).
 */
export function handOver(send: (message: RootToPart, fd: number) => boolean, message: RootToPart, socket: Socket): void {
  const fd = (socket as unknown as { _handle: { fd?: number } | null })._handle?.fd;
  if (typeof fd === 'number' && fd >= 0 && socket.bytesRead === 0 && socket.readableLength === 0) send(message, fd);
  socket.destroy();
}

