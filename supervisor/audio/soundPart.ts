/**
 * The root part's side of the sound part (soundPartMain.ts): starts it as a child with an IPC
 * channel, under setpriv with no_new_privs and a bounding set holding only what its own drop to
 * `cloison` needs, and keeps of the sound only what needs root: opening each cage's FIFOs (in the
 * root's run folder, the cage's group) and running the host's player and recorder as the
 * workstation user (request `sound.host`). Each descriptor is handed over (SCM_RIGHTS) before
 * anything is read from it, and this side's copy closed once sent: the root part reads not one
 * byte a cage writes, nor the host's microphone.
 *
 * The broker's decisions are carried out here: a level muted, or the host's server not reached,
 * gets no player (and one it has is stopped); the microphone's recorder runs only while the broker
 * has given it to that level, and is stopped when it takes it back. If the part ends while the
 * supervisor runs, its players and recorders are stopped, and it is started again (at once, then
 * later and later up to 10 s) with every level's FIFOs opened and handed anew.
 */
import { RestartBackoff, unprivilegedPartCommand } from '../sandbox/unprivilegedPart';
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { journalWriterAccount } from '../audit/journalKey';
import type { CageSoundPaths } from '../cages/cageSound';
import type { HostSound } from './hostSound';
import { soundPartToRootSchema, SOUND_PART_START_ENV, type RootToSoundPart, type SoundPartStart, type SoundPartToRoot } from './soundPartMessages';

export interface SoundPartOptions {
  host: HostSound;
  /** The part ended while the supervisor ran (it is started again). */
  onRestart?: (reason: string) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Another script in the part's place, started the same way (tests: a compromised part). */
  partScript?: string;
}

interface Level {
  paths: Pick<CageSoundPaths, 'out' | 'mic'>;
  muted: boolean;
  volume: number;
  playing: boolean;
  player: ChildProcess | null;
  /** The broker gave this level the microphone. */
  micGiven: boolean;
  recorder: ChildProcess | null;
}

const START_TIMEOUT_MS = 30_000;
/** Messages from the part that did not parse, before it is stopped (and started again). */
const MAX_BAD_MESSAGES = 100;

export class SoundPart extends EventEmitter<{ change: [] }> {
  private child: ChildProcess | null = null;
  private ready = false;
  private stopping = false;
  private readonly backoff = new RestartBackoff({
    start: () => this.spawnPart(),
    stopping: () => this.stopping,
    failed: (err) => this.options.log?.('sound part did not start again', { error: err.message }),
  });
  private hostUsable = false;
  private readonly levels = new Map<string, Level>();
  /** Messages from the part refused by their schema (a test reads it). */
  refused = 0;

  constructor(private readonly options: SoundPartOptions) {
    super();
  }

  /** Starts the part; resolves once it is restricted and takes descriptors. */
  start(): Promise<void> {
    this.stopping = false;
    return this.spawnPart();
  }

  /** The part's pid (tests), or null between two starts. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Whether a level's sound is relayed now (its FIFOs handed to a running part). */
  relayed(level: string): boolean {
    return this.ready && this.levels.has(level);
  }

  state(level: string): { playing: boolean; recording: boolean } {
    const l = this.levels.get(level);
    return { playing: l?.playing ?? false, recording: Boolean(l?.recorder) };
  }

  attach(level: string, paths: Pick<CageSoundPaths, 'out' | 'mic'>, setting: { muted: boolean; volume: number }): void {
    this.detach(level);
    this.levels.set(level, { paths, ...setting, playing: false, player: null, micGiven: false, recorder: null });
    if (this.ready) this.handLevel(level);
    this.emit('change');
  }

  detach(level: string): void {
    const l = this.levels.get(level);
    if (!l) return;
    this.levels.delete(level);
    l.player?.kill('SIGTERM');
    l.recorder?.kill('SIGTERM');
    this.send({ type: 'detach', level });
    this.emit('change');
  }

  /** Muted, a level's player is stopped here: what the part would still write goes nowhere. */
  settings(level: string, setting: { muted: boolean; volume: number }): void {
    const l = this.levels.get(level);
    if (!l) return;
    Object.assign(l, setting);
    if (l.muted) l.player?.kill('SIGTERM');
    this.send({ type: 'settings', level, ...setting });
  }

  setHostUsable(usable: boolean): void {
    this.hostUsable = usable;
    if (!usable) for (const l of this.levels.values()) l.player?.kill('SIGTERM');
    this.send({ type: 'host', usable });
  }

  /** The broker gave this level the microphone: the host's capture, handed to the part for it. */
  startRecording(level: string): void {
    const l = this.levels.get(level);
    if (!l) return;
    l.micGiven = true;
    this.record(level, l);
  }

  /** Taken back: the recorder is stopped here; the part feeds silence again. */
  stopRecording(level: string): void {
    const l = this.levels.get(level);
    if (!l) return;
    l.micGiven = false;
    const recorder = l.recorder;
    if (!recorder) return;
    l.recorder = null;
    recorder.kill('SIGTERM');
    this.emit('change');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const level of [...this.levels.keys()]) this.detach(level);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => (clearTimeout(timer), resolve()));
    });
  }

  private send(message: RootToSoundPart, handle?: object): Promise<void> {
    const child = this.child;
    if (!this.ready || !child?.connected) return Promise.resolve();
    return new Promise((resolve) => child.send(message, handle as never, () => resolve()));
  }

  /**
   * Sends a descriptor's handle with its message and closes this side's copy once sent. A handle
   * that read anything here is not sent: no byte is read on the root side.
   */
  private handOver(message: RootToSoundPart, socket: Socket): void {
    const handle = (socket as unknown as { _handle: object | null })._handle;
    if (!handle || socket.bytesRead > 0 || socket.readableLength > 0 || !this.ready) return void socket.destroy();
    void this.send(message, handle).then(() => socket.destroy());
  }

  private handLevel(level: string): void {
    const l = this.levels.get(level)!;
    // Opened read-write, so neither side ever sees the FIFO's end; paused from the start: not a byte read here.
    const fifo = (path: string) => {
      const socket = new Socket({ fd: openSync(path, constants.O_RDWR | constants.O_NONBLOCK), readable: true, writable: true, pauseOnCreate: true } as never);
      socket.on('error', () => undefined);
      return socket;
    };
    try {
      this.handOver({ type: 'fifo', level, direction: 'out' }, fifo(l.paths.out));
      if (l.paths.mic) this.handOver({ type: 'fifo', level, direction: 'mic' }, fifo(l.paths.mic));
    } catch (err) {
      this.options.log?.('sound FIFO not opened', { level, error: (err as Error).message });
      return;
    }
    void this.send({ type: 'attach', level, muted: l.muted, volume: l.volume });
    if (l.micGiven) this.record(level, l);
  }

  /** The part asked for a player: one, if the level may be heard now and has none. */
  private play(level: string): void {
    const l = this.levels.get(level);
    if (!l || l.muted || !this.hostUsable || l.player || !this.ready) return;
    const player = this.options.host.playback(`Cloison ${level}`);
    l.player = player;
    player.on('exit', () => {
      if (l.player === player) l.player = null;
    });
    if (!player.stdin || !player.stderr) return void player.kill('SIGTERM');
    unread(player.stderr);
    this.handOver({ type: 'player', level, end: 'in' }, player.stdin as Socket);
    this.handOver({ type: 'player', level, end: 'reports' }, player.stderr as Socket);
    (player.stdout as Socket | null)?.destroy();
  }

  private record(level: string, l: Level): void {
    if (l.recorder || !l.paths.mic || !this.ready || !this.hostUsable) return;
    const recorder = this.options.host.capture(`Cloison ${level} (microphone)`);
    l.recorder = recorder;
    recorder.on('exit', () => {
      if (l.recorder !== recorder) return;
      l.recorder = null;
      this.emit('change');
    });
    if (!recorder.stdout) return void recorder.kill('SIGTERM');
    unread(recorder.stdout);
    this.handOver({ type: 'recorder', level }, recorder.stdout as Socket);
    (recorder.stdin as Socket | null)?.destroy();
    this.emit('change');
  }

  private spawnPart(): Promise<void> {
    const root = process.getuid?.() === 0;
    const account = root ? journalWriterAccount() : null;
    if (root && !account) return Promise.reject(new Error('the system user "cloison" is missing (scripts/setup.sh and the package make it): the sound part does not run as root'));
    const start: SoundPartStart = { account };
    const { command, args } = soundPartCommand(root, this.options.partScript);
    const child = spawn(command, args, {
      // A process group of its own: a terminal's Ctrl+C is the root part's to act on (stop()).
      detached: true,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', [SOUND_PART_START_ENV]: JSON.stringify(start) },
    });
    this.child = child;
    this.ready = false;
    let bad = 0;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the sound part did not start within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      child.on('message', (raw: unknown) => {
        const parsed = soundPartToRootSchema.safeParse(raw);
        if (!parsed.success) {
          this.refused++;
          if (++bad === MAX_BAD_MESSAGES) child.kill('SIGKILL');
          if (bad <= 3) this.options.log?.('sound part: message refused', { issue: parsed.error.issues[0]?.message });
          return;
        }
        if (parsed.data.type === 'ready' && !this.ready) {
          clearTimeout(timer);
          this.ready = true;
          void this.send({ type: 'host', usable: this.hostUsable });
          for (const level of this.levels.keys()) this.handLevel(level);
          this.emit('change');
          return resolve();
        }
        if (parsed.data.type === 'failed' && !this.ready) {
          clearTimeout(timer);
          return reject(new Error(`the sound part could not start: ${parsed.data.error}`));
        }
        this.handle(parsed.data);
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const wasReady = this.ready;
        this.partGone();
        if (!wasReady) return reject(new Error(`the sound part exited before it was ready (${signal ?? code})`));
        if (this.stopping) return;
        this.options.log?.('sound part ended: starting it again', { code, signal });
        this.options.onRestart?.(signal ?? `exit ${code}`);
        this.backoff.restartLater();
      });
    });
  }

  private handle(message: SoundPartToRoot): void {
    const l = 'level' in message ? this.levels.get(message.level) : undefined;
    if (!l) return;
    if (message.type === 'player.want') return this.play(message.level);
    if (message.type === 'playing' && l.playing !== message.playing) {
      l.playing = message.playing;
      this.emit('change');
    }
  }

  private partGone(): void {
    this.child = null;
    this.ready = false;
    // Their other ends went with the part: stopped, and started anew for the next one.
    for (const l of this.levels.values()) {
      l.player?.kill('SIGTERM');
      l.player = null;
      l.recorder?.kill('SIGTERM');
      l.recorder = null;
      l.playing = false;
    }
    this.emit('change');
  }

}

/** Stops a child's output from being read here: its first bytes go to the part, not this process. */
function unread(stream: NodeJS.ReadableStream): void {
  const handle = (stream as unknown as { _handle?: { readStop?: () => void; reading?: boolean } })._handle;
  if (handle) {
    handle.reading = false;
    handle.readStop?.();
  }
  stream.pause();
}

function soundPartCommand(asRoot: boolean, script?: string): { command: string; args: string[] } {
  return unprivilegedPartCommand({ callerUrl: import.meta.url, source: 'soundPartMain.ts', bundle: 'soundPart.js', script }, asRoot);
}
