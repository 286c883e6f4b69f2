/**
 * One level's sound, relayed by the supervisor. Playback: the bytes the cage's server writes into
 * its FIFO are read here, measured (the level "plays" when they are not silence — what flows, not
 * what the cage claims), scaled to the level's volume, and sent to the host as a stream named after
 * the level, or dropped when the level is muted. Microphone: the level's FIFO is fed silence, or
 * the host's capture while the user has given this level the microphone. Nothing waits on a slow
 * side: what cannot be written at once is dropped, never buffered without bound, and sound that
 * would be heard more than MAX_DELAY_MS late (the host stalled meanwhile) is dropped too.
 *
 * Every byte is read and measured on the supervisor's event loop, so playback is read no faster than
 * its format's rate with a margin (soundBudget): past it the relay stops reading until the budget
 * has refilled, the FIFO fills, and a cage writing as fast as it can waits in the kernel instead of
 * taking the supervisor's CPU and its RPC's latency (docs/design.md "Performance budgets": no cage stream
 * pushes the RPC past 1.25x its idle latency).
 */
import { EventEmitter } from 'node:events';
import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { ByteBudget, type ByteBudgetOptions } from '../gateway/byteBudget';
import { SOUND_FORMAT } from '../cages/cageSound';
import type { HostSound } from './hostSound';
import { PlaybackDelay } from './playbackDelay';

/** Peak sample above which a chunk is sound, not silence (of 32767). */
const LOUD = 256;
/** A level still "plays" this long after its last loud chunk. */
const PLAYING_HOLD_MS = 600;
/** Bytes that may wait for a slow reader before the relay drops instead. */
const MAX_PENDING = 64 * 1024;
const SILENCE_EVERY_MS = 20;
/** Playback later than this is dropped, down to RESUME_BELOW_MS: steady, the host holds 30–40 ms. */
const MAX_DELAY_MS = 150;
const RESUME_BELOW_MS = 70;
const FRAME_BYTES = 2 * SOUND_FORMAT.playbackChannels;
/** Playback is read this much faster than its format's rate at most (a late timer, a catching-up server). */
export const SOUND_BUDGET_MARGIN = 1.25;

/** The playback FIFO's budget: its format's rate with the margin, and half a second of burst. */
export function soundBudget(): ByteBudgetOptions {
  const rate = SOUND_FORMAT.rate * FRAME_BYTES;
  return { bytesPerSecond: Math.round(rate * SOUND_BUDGET_MARGIN), burstBytes: Math.round(rate / 2) };
}

export interface RelayState {
  playing: boolean;
  recording: boolean;
}

/** Opens a FIFO without blocking and without ever seeing its end (read-write), as a socket. */
function fifoSocket(path: string, direction: 'read' | 'write'): Socket {
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  const sock = new Socket({ fd, readable: direction === 'read', writable: direction === 'write' });
  sock.on('error', () => undefined);
  return sock;
}

export class SoundRelay extends EventEmitter<{ change: [RelayState] }> {
  private readonly out: Socket;
  private readonly mic: Socket | null;
  /** The host stream's player, started with the first sound, and how late it plays. */
  private player: { process: ChildProcess; delay: PlaybackDelay } | null = null;
  private recorder: ChildProcess | null = null;
  private silence: NodeJS.Timeout | null = null;
  private lastLoud = 0;
  private playing = false;
  private quietTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private carry = Buffer.alloc(0);
  private readonly budget = new ByteBudget(soundBudget());
  private resumeTimer: NodeJS.Timeout | null = null;
  muted = false;
  /** 0–100, applied to the samples before they reach the host. */
  volume = 100;

  constructor(
    private readonly level: string,
    paths: { out: string; mic: string | null },
    private readonly host: HostSound,
    private readonly hostUsable: () => boolean,
  ) {
    super();
    this.out = fifoSocket(paths.out, 'read');
    this.out.on('data', (chunk: Buffer) => {
      this.spend(chunk.length);
      this.played(chunk);
    });
    this.mic = paths.mic ? fifoSocket(paths.mic, 'write') : null;
    if (this.mic) this.feedSilence();
  }

  get state(): RelayState {
    return { playing: this.playing, recording: this.recorder !== null };
  }

  /** Gives this level the host's microphone (the broker decided it may). */
  startRecording(): void {
    if (!this.mic || this.recorder || !this.hostUsable()) return;
    this.stopSilence();
    const recorder = this.host.capture(`Cloison ${this.level} (microphone)`);
    recorder.stdout!.on('data', (chunk: Buffer) => this.toMic(chunk));
    recorder.on('exit', () => {
      if (this.recorder !== recorder) return;
      this.recorder = null;
      if (!this.closed) this.feedSilence();
      this.emit('change', this.state);
    });
    this.recorder = recorder;
    this.emit('change', this.state);
  }

  stopRecording(): void {
    const recorder = this.recorder;
    if (!recorder) return;
    this.recorder = null;
    recorder.kill('SIGTERM');
    if (!this.closed) this.feedSilence();
    this.emit('change', this.state);
  }

  close(): void {
    this.closed = true;
    this.stopRecording();
    this.stopSilence();
    if (this.quietTimer) clearTimeout(this.quietTimer);
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.player?.process.kill('SIGTERM');
    this.out.destroy();
    this.mic?.destroy();
  }

  /** Counts what was read; past the budget, reading stops until it has refilled. */
  private spend(bytes: number): void {
    const waitMs = this.budget.spend(bytes);
    if (waitMs === 0 || this.resumeTimer || this.closed) return;
    this.out.pause();
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = null;
      if (!this.closed) this.out.resume();
    }, Math.ceil(waitMs));
  }

  private played(data: Buffer): void {
    // Measure what flows, within the budget (the cage's server, writing at its rate, never stalls). Whole frames only, so
    // a dropped chunk never shifts the channels of what follows.
    const joined = this.carry.length > 0 ? Buffer.concat([this.carry, data]) : data;
    const whole = joined.length - (joined.length % FRAME_BYTES);
    this.carry = Buffer.from(joined.subarray(whole));
    if (whole === 0) return;
    const chunk = joined.byteOffset % 2 === 0 ? joined.subarray(0, whole) : Buffer.from(joined.subarray(0, whole));
    const samples = new Int16Array(chunk.buffer, chunk.byteOffset, whole >> 1);
    let peak = 0;
    for (let i = 0; i < samples.length; i++) {
      const v = Math.abs(samples[i]!);
      if (v > peak) peak = v;
    }
    if (peak > LOUD) this.loud();
    if (this.muted || !this.hostUsable()) return;
    if (this.volume < 100) for (let i = 0; i < samples.length; i++) samples[i] = Math.round((samples[i]! * this.volume) / 100);
    const player = this.playerStream();
    const stdin = player?.process.stdin;
    if (stdin && stdin.writableLength < MAX_PENDING && player.delay.admit(chunk.length)) stdin.write(chunk);
  }

  private loud(): void {
    this.lastLoud = Date.now();
    if (!this.playing) {
      this.playing = true;
      this.emit('change', this.state);
    }
    if (this.quietTimer) return;
    const check = () => {
      const quietFor = Date.now() - this.lastLoud;
      if (quietFor < PLAYING_HOLD_MS) {
        this.quietTimer = setTimeout(check, PLAYING_HOLD_MS - quietFor);
        return;
      }
      this.quietTimer = null;
      this.playing = false;
      this.emit('change', this.state);
    };
    this.quietTimer = setTimeout(check, PLAYING_HOLD_MS);
  }

  private playerStream(): SoundRelay['player'] {
    if (this.player || this.closed) return this.player;
    const child = this.host.playback(`Cloison ${this.level}`);
    const delay = new PlaybackDelay(SOUND_FORMAT.rate * FRAME_BYTES, MAX_DELAY_MS, RESUME_BELOW_MS);
    child.stderr?.on('data', (text: Buffer) => delay.reported(text.toString('latin1')));
    const player = { process: child, delay };
    child.on('exit', () => {
      if (this.player === player) this.player = null; // the next chunk starts another
    });
    this.player = player;
    return player;
  }

  private toMic(chunk: Buffer): void {
    if (this.mic && this.mic.writableLength < MAX_PENDING) this.mic.write(chunk);
  }

  /** Silence at the real rate: a recorder in the cage hears nothing, and never waits forever. */
  private feedSilence(): void {
    if (this.silence || !this.mic) return;
    const bytes = Math.round((SOUND_FORMAT.rate * SOUND_FORMAT.micChannels * 2 * SILENCE_EVERY_MS) / 1000);
    const quiet = Buffer.alloc(bytes - (bytes % 2));
    this.silence = setInterval(() => this.toMic(quiet), SILENCE_EVERY_MS);
    this.silence.unref();
  }

  private stopSilence(): void {
    if (this.silence) clearInterval(this.silence);
    this.silence = null;
  }
}
