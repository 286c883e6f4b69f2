/**
 * One level's sound, relayed by the sound part (soundPartMain.ts, uid `cloison`, no capability):
 * the root part opened the cage's FIFOs and the host's streams, and handed their descriptors over.
 * Playback: the bytes the cage's server writes into its FIFO are read here, measured (the level
 * "plays" when they are not silence — what flows, not what the cage claims), scaled to the level's
 * volume, and written to the host's player (a stream named after the level, which the root part
 * starts on request when the level may be heard), or dropped when the level is muted. The cage's
 * sink writes nothing while no stream plays (cageSound.ts): an idle level is never read, and its
 * player is asked for ahead of the first sound, which then starts at once. Microphone: the level's
 * FIFO gets the host's capture while the root part hands one (the user gave this level the
 * microphone), and nothing otherwise: the cage's source is the monitor of a null sink, which
 * records silence while its feed is starved. Nothing waits on a slow side: what cannot be written
 * at once is dropped, never buffered without bound, and sound that would be heard more than
 * MAX_DELAY_MS late (the host stalled meanwhile) is dropped too.
 *
 * Playback is read no faster than its format's rate with a margin (soundBudget): past it the relay
 * stops reading until the budget has refilled, the FIFO fills, and a cage writing as fast as it can
 * waits in the kernel instead of taking the part's CPU (docs/design.md "Performance budgets": no
 * cage stream pushes the RPC past 1.25x its idle latency).
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { ByteBudget, type ByteBudgetOptions } from '../gateway/byteBudget';
import { SOUND_FORMAT } from '../cages/cageSound';
import { PlaybackDelay } from './playbackDelay';

/** Peak sample above which a chunk is sound, not silence (of 32767). */
const LOUD = 256;
/** A level still "plays" this long after its last loud chunk. */
const PLAYING_HOLD_MS = 600;
/** Bytes that may wait for a slow reader before the relay drops instead. */
const MAX_PENDING = 64 * 1024;
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

/** A player not handed within this long after the relay asked is asked for again (a refusal, a race). */
const ASK_AGAIN_MS = 1000;

export class SoundRelay extends EventEmitter<{ change: [RelayState] }> {
  /** The host stream's player (its standard input), handed by the root part, and how late it plays. */
  private player: { stdin: Socket; delay: PlaybackDelay } | null = null;
  private askedAt = -Infinity;
  private recorder: Socket | null = null;
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
  /** Whether the host's server is reached (the root part says). */
  hostUsable = false;

  constructor(
    private readonly out: Socket,
    private readonly mic: Socket | null,
    /** Asks the root part for a host player (it decides whether this level may be heard now). */
    private readonly askPlayer: () => void,
  ) {
    super();
    out.on('error', () => undefined);
    mic?.on('error', () => undefined);
    this.out.on('data', (chunk: Buffer) => {
      this.spend(chunk.length);
      this.played(chunk);
    });
  }

  get state(): RelayState {
    return { playing: this.playing, recording: this.recorder !== null };
  }

  /** The host's player for this level: its standard input, and its reports (standard error). */
  givePlayer(stdin: Socket, reports: Socket | null): void {
    if (this.closed) return void (stdin.destroy(), reports?.destroy());
    this.player?.stdin.destroy();
    const delay = new PlaybackDelay(SOUND_FORMAT.rate * FRAME_BYTES, MAX_DELAY_MS, RESUME_BELOW_MS);
    const player = { stdin, delay };
    stdin.on('error', () => undefined);
    const gone = () => {
      if (this.player === player) this.player = null; // the next sound asks for another
      stdin.destroy();
      reports?.destroy();
    };
    stdin.on('close', gone);
    if (reports) {
      reports.on('error', () => undefined);
      reports.on('data', (text: Buffer) => delay.reported(text.toString('latin1')));
      reports.on('close', gone); // the player ended (the root part stopped it: the level muted)
    }
    this.player = player;
  }

  /**
   * Asks for the host's player before any sound, when the level may be heard and has none: the sink
   * is silent while idle, and the first sound should not wait for a player to start. A player that
   * ends later is asked for again by the next sound.
   */
  readyPlayer(): void {
    if (!this.closed && !this.muted && this.hostUsable && !this.player) this.wantPlayer();
  }

  /** The host's capture, for this level's microphone, until it ends (the root part stops it). */
  giveRecorder(stdout: Socket): void {
    if (this.closed || !this.mic) return void stdout.destroy();
    this.recorder?.destroy();
    stdout.on('error', () => undefined);
    stdout.on('data', (chunk: Buffer) => this.toMic(chunk));
    stdout.on('close', () => {
      if (this.recorder !== stdout) return;
      this.recorder = null;
      this.emit('change', this.state);
    });
    this.recorder = stdout;
    this.emit('change', this.state);
  }

  close(): void {
    this.closed = true;
    this.recorder?.destroy();
    this.recorder = null;
    if (this.quietTimer) clearTimeout(this.quietTimer);
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.player?.stdin.destroy();
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
    if (this.muted || !this.hostUsable) return;
    if (this.volume < 100) for (let i = 0; i < samples.length; i++) samples[i] = Math.round((samples[i]! * this.volume) / 100);
    const player = this.player;
    if (!player) return this.wantPlayer();
    const stdin = player.stdin;
    if (stdin.writable && stdin.writableLength < MAX_PENDING && player.delay.admit(chunk.length)) stdin.write(chunk);
  }

  private wantPlayer(): void {
    const now = performance.now();
    if (now - this.askedAt < ASK_AGAIN_MS) return;
    this.askedAt = now;
    this.askPlayer();
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

  private toMic(chunk: Buffer): void {
    if (this.mic && this.mic.writableLength < MAX_PENDING) this.mic.write(chunk);
  }
}
