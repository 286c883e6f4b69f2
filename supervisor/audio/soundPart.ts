/**
 * The root part's side of the sound part (soundPartMain.ts): starts it (sandbox/partProcess.ts:
 * under setpriv, its channel with no Node IPC under it, restarted if it ends), and keeps of the
 * sound only what needs root: opening each cage's FIFOs (in the root's run folder, the cage's group) and running the host's player and recorder as the
 * workstation user (request `sound.host`). Each descriptor is handed over (SCM_RIGHTS) before
 * anything is read from it, and this side's copy closed once sent: the root part reads not one
 * byte a cage writes, nor the host's microphone.
 *
 * The broker's decisions are carried out here: a level muted, or the host's server not reached,
 * gets no player (and one it has is stopped); the microphone's recorder runs only while the broker
 * has given it to that level, and is stopped when it takes it back. If the part ends while the
 * supervisor runs, its players and recorders are stopped, and it is started again (at once, then
 * later and later up to 10 s) with every level's FIFOs opened and handed anew.
 *
 * When the supervisor is itself the unprivileged `cloison` part (issue #29), the root cage manager
 * opens those descriptors instead (`remote`, cageManager/managerSoundEnds.ts): this side asks and passes each
 * on unread. The manager holds the host's player and recorder then: to stop one (the level muted,
 * the microphone taken back, the cage gone) this side asks it (`stop`), since the sound part,
 * which holds their ends, is not trusted to let them go.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, constants, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import { journalWriterAccount } from '../audit/journalKey';
import type { CageSoundPaths } from '../cages/cageSound';
import { UnprivilegedPart } from '../sandbox/partProcess';
import type { HostSound } from './hostSound';
import type { RemoteSoundEnds } from './remoteSoundEnds';
import { soundPartToRootSchema } from './soundPartMessageSchema';
import { SOUND_PART_START_ENV, type RootToSoundPart, type SoundPartStart, type SoundPartToRoot } from './soundPartMessages';
import { createCageCgroup, openCageCgroup } from '../cages/cageCgroup';

export interface SoundPartOptions {
  host: HostSound;
  /** The part ended while the supervisor ran (it is started again). */
  onRestart?: (reason: string) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Another script in the part's place, started the same way (tests: a compromised part). */
  partScript?: string;
  /** The cage manager opens the FIFOs and runs the host's programs (the supervisor is the `cloison` part). */
  remote?: RemoteSoundEnds;
  /** The manager answered that the workstation has no sound server (`remote` only). */
  onHostMissing?: (reason: string) => void;
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
  /** `remote`: the FIFOs reached the running part (locally, opening them cannot be pending). */
  handed: boolean;
  /** `remote`: a player is asked of the manager for this level. */
  remotePlayer: boolean;
  /** `remote`: a player's ends went to the part (it may run: stopped by the manager when muted). */
  remotePlayerHanded: boolean;
  remotePlayerAskedAt: number;
  /** `remote`: the manager runs the microphone's recorder for this level, or is asked for one. */
  remoteRecorder: boolean;
}

/** `remote`: at most one player asked of the manager per level in this time (the part asks as it likes). */
const REMOTE_PLAYER_EVERY_MS = 1000;

/** Its messages are a few words: a frame over this is the part's misbehaviour. */
const MAX_MESSAGE_BYTES = 16 * 1024;
/** Its control group's (sandbox/partCgroup.ts): relays PCM between FIFOs and pipes: Node and its threads, with room; a fork or allocation without end stops there. */
const PART_LIMITS = { memoryBytes: 256 * 2 ** 20, tasks: 128 };

export class SoundPart extends EventEmitter<{ change: [] }> {
  private readonly part: UnprivilegedPart<SoundPartToRoot, RootToSoundPart>;
  private hostUsable = false;
  private readonly levels = new Map<string, Level>();
  /** Counts the part's starts: a descriptor asked of the manager for an earlier one is not sent to the next. */
  private starts = 0;

  constructor(private readonly options: SoundPartOptions) {
    super();
    this.part = new UnprivilegedPart({
      name: 'sound part',
      command: { callerUrl: import.meta.url, source: 'soundPartMain.ts', bundle: 'soundPart.js', ...(options.partScript ? { script: options.partScript } : {}) },
      account: journalWriterAccount,
      startEnv: SOUND_PART_START_ENV,
      start: (account): SoundPartStart => ({ account }),
      lang: 'C',
      maxMessageBytes: MAX_MESSAGE_BYTES,
      limits: PART_LIMITS,
      controlGroups: { create: createCageCgroup, open: openCageCgroup },
      parse: (raw) => {
        const parsed = soundPartToRootSchema.safeParse(raw);
        return parsed.success ? parsed : { success: false, issue: parsed.error.issues[0]?.message ?? 'refused' };
      },
      isReady: (message) => message.type === 'ready',
      started: () => {
        this.starts++;
        this.send({ type: 'host', usable: this.hostUsable });
        for (const level of this.levels.keys()) this.handLevel(level);
        this.emit('change');
      },
      message: (message) => this.handle(message),
      gone: () => this.partGone(),
      restarting: (reason) => this.options.onRestart?.(reason),
      ...(options.log ? { log: options.log } : {}),
    });
  }

  /** Starts the part; resolves once it is restricted and takes descriptors. */
  start(): Promise<void> {
    return this.part.start();
  }

  /** The part's pid (tests), or null between two starts. */
  get pid(): number | null {
    return this.part.pid;
  }

  /** Messages from the part refused by their schema (a test reads it). */
  get refused(): number {
    return this.part.refused;
  }

  private get ready(): boolean {
    return this.part.ready;
  }

  /** Whether a level's sound is relayed now (its FIFOs handed to a running part). */
  relayed(level: string): boolean {
    const l = this.levels.get(level);
    return this.ready && l !== undefined && (!this.options.remote || l.handed);
  }

  state(level: string): { playing: boolean; recording: boolean } {
    const l = this.levels.get(level);
    return { playing: l?.playing ?? false, recording: Boolean(l?.recorder) || (l?.remoteRecorder ?? false) };
  }

  attach(level: string, paths: Pick<CageSoundPaths, 'out' | 'mic'>, setting: { muted: boolean; volume: number }): void {
    this.detach(level);
    this.levels.set(level, { paths, ...setting, playing: false, player: null, micGiven: false, recorder: null, handed: false, remotePlayer: false, remotePlayerHanded: false, remotePlayerAskedAt: -Infinity, remoteRecorder: false });
    if (this.ready) this.handLevel(level);
    this.emit('change');
  }

  detach(level: string): void {
    const l = this.levels.get(level);
    if (!l) return;
    this.levels.delete(level);
    l.player?.kill('SIGTERM');
    l.recorder?.kill('SIGTERM');
    this.stopRemote(level, l, 'playback');
    this.stopRemote(level, l, 'record');
    this.send({ type: 'detach', level });
    this.emit('change');
  }

  /** Muted, a level's player is stopped here: what the part would still write goes nowhere. */
  settings(level: string, setting: { muted: boolean; volume: number }): void {
    const l = this.levels.get(level);
    if (!l) return;
    Object.assign(l, setting);
    if (l.muted) {
      l.player?.kill('SIGTERM');
      this.stopRemote(level, l, 'playback');
    }
    this.send({ type: 'settings', level, ...setting });
  }

  setHostUsable(usable: boolean): void {
    this.hostUsable = usable;
    if (!usable) {
      for (const [level, l] of this.levels) {
        l.player?.kill('SIGTERM');
        this.stopRemote(level, l, 'playback');
      }
    }
    this.send({ type: 'host', usable });
  }

  /** The broker gave this level the microphone: the host's capture, handed to the part for it. */
  startRecording(level: string): void {
    const l = this.levels.get(level);
    if (!l) return;
    l.micGiven = true;
    this.record(level, l);
  }

  /** Taken back: the recorder is stopped here; the cage's microphone records silence again. */
  stopRecording(level: string): void {
    const l = this.levels.get(level);
    if (!l) return;
    l.micGiven = false;
    if (l.remoteRecorder) {
      this.stopRemote(level, l, 'record');
      this.emit('change');
    }
    const recorder = l.recorder;
    if (!recorder) return;
    l.recorder = null;
    recorder.kill('SIGTERM');
    this.emit('change');
  }

  async stop(): Promise<void> {
    for (const level of [...this.levels.keys()]) this.detach(level);
    await this.part.stop();
  }

  private send(message: RootToSoundPart, fd?: number): void {
    if (this.ready) this.part.send(message, fd);
  }

  /**
   * Sends a stream's descriptor with its message and closes this side's copy. One that read
   * anything here is not sent: no byte is read on the root side.
   */
  private handOver(message: RootToSoundPart, socket: Socket): void {
    const fd = (socket as unknown as { _handle: { fd?: number } | null })._handle?.fd;
    if (typeof fd === 'number' && fd >= 0 && socket.bytesRead === 0 && socket.readableLength === 0) this.send(message, fd);
    socket.destroy();
  }

  private handLevel(level: string): void {
    const l = this.levels.get(level)!;
    if (this.options.remote) return void this.handLevelRemote(level, l, this.options.remote);
    // Opened read-write, so neither side ever sees the FIFO's end; never read here.
    const handFifo = (path: string, direction: 'out' | 'mic') => {
      const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
      try {
        this.send({ type: 'fifo', level, direction }, fd);
      } finally {
        closeSync(fd);
      }
    };
    try {
      handFifo(l.paths.out, 'out');
      if (l.paths.mic) handFifo(l.paths.mic, 'mic');
    } catch (err) {
      this.options.log?.('sound FIFO not opened', { level, error: (err as Error).message });
      return;
    }
    this.send({ type: 'attach', level, muted: l.muted, volume: l.volume });
    if (l.micGiven) this.record(level, l);
  }

  /** `remote`: the cage's FIFOs from the manager, passed on to the part as handLevel sends its own. */
  private async handLevelRemote(level: string, l: Level, remote: RemoteSoundEnds): Promise<void> {
    const start = this.starts;
    let ends;
    try {
      ends = await remote.fifos(level);
    } catch (err) {
      this.options.log?.('sound FIFOs not handed by the cage manager', { level, error: (err as Error).message });
      return;
    }
    const current = this.levels.get(level) === l && this.ready && this.starts === start;
    try {
      if (!current) return;
      this.send({ type: 'fifo', level, direction: 'out' }, ends.out);
      if (ends.mic !== null) this.send({ type: 'fifo', level, direction: 'mic' }, ends.mic);
    } finally {
      closeSync(ends.out);
      if (ends.mic !== null) closeSync(ends.mic);
    }
    l.handed = true;
    this.send({ type: 'attach', level, muted: l.muted, volume: l.volume });
    if (l.micGiven) this.record(level, l);
    this.emit('change');
  }

  /** `remote`: a host player from the manager, its two ends passed on to the part. */
  private async playRemote(level: string, l: Level, remote: RemoteSoundEnds): Promise<void> {
    if (l.remotePlayer || Date.now() - l.remotePlayerAskedAt < REMOTE_PLAYER_EVERY_MS) return;
    l.remotePlayer = true;
    l.remotePlayerAskedAt = Date.now();
    const start = this.starts;
    let ends;
    try {
      ends = await remote.player(level);
    } catch (err) {
      l.remotePlayer = false;
      this.remoteRefused(level, err as Error);
      return;
    }
    try {
      // Muted, detached or the part restarted meanwhile: its ends closed unread, the player ends.
      if (this.levels.get(level) !== l || l.muted || !this.hostUsable || !this.ready || this.starts !== start || !l.remotePlayer) {
        l.remotePlayer = false;
        return;
      }
      this.send({ type: 'player', level, end: 'in' }, ends.in);
      this.send({ type: 'player', level, end: 'reports' }, ends.reports);
      l.remotePlayerHanded = true;
    } finally {
      closeSync(ends.in);
      closeSync(ends.reports);
    }
    // The part asks again when this player is gone (its reports closed): the next ask is answered.
    l.remotePlayer = false;
  }

  /** `remote`: the microphone's recorder from the manager, while the broker gives it. */
  private async recordRemote(level: string, l: Level, remote: RemoteSoundEnds): Promise<void> {
    l.remoteRecorder = true;
    this.emit('change');
    const start = this.starts;
    let out;
    try {
      out = await remote.recorder(level);
    } catch (err) {
      l.remoteRecorder = false;
      this.emit('change');
      this.remoteRefused(level, err as Error);
      return;
    }
    try {
      if (this.levels.get(level) !== l || !l.micGiven || !this.ready || this.starts !== start) {
        // Taken back, detached or the part restarted meanwhile: this one's end closed unread, it ends
        // (a restarted part's start asks again for a level that still has the microphone).
        if (this.levels.get(level) === l && this.starts === start) l.remoteRecorder = false;
        return;
      }
      this.send({ type: 'recorder', level }, out);
    } finally {
      closeSync(out);
    }
  }

  /** `remote`: the manager ends the level's player or recorder (stop requests are never skipped). */
  private stopRemote(level: string, l: Level, direction: 'playback' | 'record'): void {
    const remote = this.options.remote;
    if (!remote) return;
    if (direction === 'playback') {
      l.remotePlayer = false;
      if (!l.remotePlayerHanded) return;
      l.remotePlayerHanded = false;
    } else {
      if (!l.remoteRecorder) return;
      l.remoteRecorder = false;
    }
    remote.stop(level, direction).catch((err: Error) => this.options.log?.('the cage manager did not stop a host sound program', { level, direction, error: err.message }));
  }

  private remoteRefused(level: string, err: Error): void {
    this.options.log?.('the cage manager gave no host sound program', { level, error: err.message });
    // The manager's words when the workstation has none (soundHostExecutor.ts): the band says so.
    if (/no sound server on this machine/.test(err.message)) this.options.onHostMissing?.(err.message);
  }

  /** The part asked for a player: one, if the level may be heard now and has none. */
  private play(level: string): void {
    const l = this.levels.get(level);
    if (!l || l.muted || !this.hostUsable || l.player || !this.ready) return;
    if (this.options.remote) return void this.playRemote(level, l, this.options.remote);
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
    if (this.options.remote) {
      if (!l.remoteRecorder && l.handed) void this.recordRemote(level, l, this.options.remote);
      return;
    }
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
    // Their other ends went with the part: stopped, and started anew for the next one.
    for (const l of this.levels.values()) {
      l.player?.kill('SIGTERM');
      l.player = null;
      l.recorder?.kill('SIGTERM');
      l.recorder = null;
      l.playing = false;
      // Their ends went with the part: the manager's programs end by themselves; FIFOs handed anew.
      l.remotePlayer = false;
      l.remotePlayerHanded = false;
      l.remoteRecorder = false;
      l.handed = false;
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
