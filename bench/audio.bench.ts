/**
 * Sound: the latency from a cage writing sound to the host's speakers receiving it, and the CPU the
 * relay costs per stream — against `pacat` piped straight into the host's server, in the same run.
 * Real servers throughout: a host PulseAudio whose speakers are a null sink (its monitor recorded)
 * and the cage's own PulseAudio in a real cage, relayed by the real supervisor.
 *
 * Latency: both paths are fed without a break (silence, 10 ms at a time) by an already running
 * `pacat` — the cage's, reading a FIFO in the cage's home; the reference's, on the host — and a
 * click (10 ms of a sine, 1 kHz on one path, 3 kHz on the other) replaces one chunk of silence now
 * and then, on one path then the other. Each click is found in one continuous recording of the
 * speakers by its pitch, both paths timed the same way.
 * CPU: 20 s of a steady tone through each path: the supervisor and its relay's `pacat` for the
 * cage's stream, the reference `pacat` for the other.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSupervisor, type SupervisorProcess } from '../e2e/support/supervisorProcess';
import { startHostSoundServer, type HostSoundServer } from '../supervisor/testing/hostSoundServer';
import { cageShellForUid } from '../e2e/support/cageByUid';
import { bwrapCage } from '../supervisor/testing/testPolicy';
import { toneShare } from '../supervisor/testing/tones';
import { waitFor } from '../supervisor/testing/waitFor';
import { cpuSecondsOf, processes } from './lib/processCpu';
import { fmt, median, percentile } from './lib/stats';
import { runsPerSecond, type ThreadRuns } from './lib/threadRuns';

const run = promisify(execFile);
const UID = 59880;
const RATE = 44100;
const CHUNK_MS = 10;
const CHUNK_BYTES = (RATE * CHUNK_MS * 2 * 2) / 1000; // stereo s16le
const CLICKS = 40;
const CPU_SECONDS = 20;
const PULSE = 'PULSE_SERVER=unix:/tmp/pulse/native';

/** Stereo s16le: `ms` of a sine at `frequency`, or silence at amplitude 0. */
function pcm(ms: number, frequency: number, amplitude: number): Buffer {
  const frames = (RATE * ms) / 1000;
  const out = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    const v = Math.round(amplitude * Math.sin((2 * Math.PI * frequency * i) / RATE));
    out.writeInt16LE(v, i * 4);
    out.writeInt16LE(v, i * 4 + 2);
  }
  return out;
}
type Path = 'cloison' | 'pacat';
/** Each path clicks at its own pitch, so a burst in the recording says which path it came by. */
const PITCH: Record<Path, number> = { cloison: 1000, pacat: 3000 };
const LOUD = 12000;
const SILENCE = Buffer.alloc(CHUNK_BYTES);
const TONE = pcm(CHUNK_MS, 440, 8000);

/** Writes a chunk every 10 ms with `write`; `next` chooses it. Returns a stop function. */
function feed(write: (chunk: Buffer) => void, next: () => Buffer): () => void {
  let due = performance.now();
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    // Catch up after a late timer, so the stream never starves (a starved stream re-buffers); a few
    // chunks a turn: the cage's FIFO is written blocking, and a player that only keeps pace would
    // otherwise hold this loop, and the event loop with it, for good.
    for (let n = 0; n < 10 && performance.now() >= due; n++) {
      write(next());
      due += CHUNK_MS;
    }
    setTimeout(tick, Math.max(0, due - performance.now()));
  };
  tick();
  return () => (stopped = true);
}

/** A feed whose next chunk can be made a click; `click()` resolves with the time it was written. */
function clickable(write: (chunk: Buffer) => void, background: Buffer, click: Buffer): { click(): Promise<number>; setBackground(b: Buffer): void; stop(): void } {
  let pending: ((t: number) => void) | null = null;
  let bg = background;
  const stop = feed(write, () => {
    if (!pending) return bg;
    pending(performance.now());
    pending = null;
    return click;
  });
  return { click: () => new Promise((r) => (pending = r)), setBackground: (b) => (bg = b), stop };
}

/** A loud moment in the recording: when it was heard, and the 10 ms of sound that begin it. */
interface Burst {
  at: number;
  sound: Buffer;
}

/**
 * The speakers' monitor, recorded without a break. A burst's time is taken from the arrival of the
 * recorded chunk that holds its first loud sample, less the samples after it in that chunk: what a
 * listener with the recorder's 10 ms latency hears, with no estimate of when the recording began.
 */
function recordSpeakers(host: HostSoundServer): { bursts(): Burst[]; stop(): void } {
  const rec = spawn('parec', ['-d', 'speakers.monitor', '--latency-msec=10', '--raw', '--format=s16le', `--rate=${RATE}`, '--channels=1'], {
    env: { ...process.env, PULSE_SERVER: host.target.server },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const chunks: Array<{ data: Buffer; arrived: number }> = [];
  rec.stdout!.on('data', (data: Buffer) => chunks.push({ data, arrived: performance.now() }));
  return {
    bursts() {
      const all = Buffer.concat(chunks.map((c) => c.data));
      const out: Burst[] = [];
      let quiet = RATE; // samples since the last loud one
      let offset = 0; // samples before this chunk
      for (const { data, arrived } of chunks) {
        const n = data.length >> 1;
        for (let i = 0; i < n; i++) {
          if (Math.abs(data.readInt16LE(i * 2)) <= LOUD) {
            quiet++;
            continue;
          }
          const start = (offset + i) * 2;
          if (quiet > RATE / 10) out.push({ at: arrived - ((n - i) / RATE) * 1000, sound: all.subarray(start, start + (RATE / 100) * 2) });
          quiet = 0;
        }
        offset += n;
      }
      return out;
    },
    stop: () => rec.kill('SIGTERM'),
  };
}

/** Each click's latency: the first burst after it that carries its path's pitch. */
function latencies(written: Array<{ path: Path; at: number }>, heard: Burst[]): AudioResult['latencyMs'] {
  const out: AudioResult['latencyMs'] = { cloison: [], pacat: [] };
  const pitchOf = (b: Burst) => (toneShare(b.sound, PITCH.cloison) > toneShare(b.sound, PITCH.pacat) ? 'cloison' : 'pacat');
  for (const w of written) {
    const match = heard.find((b) => b.at > w.at && pitchOf(b) === w.path);
    if (!match) throw new Error(`a click written to the ${w.path} path was never heard: the run is broken`);
    heard = heard.filter((b) => b !== match);
    out[w.path].push(match.at - w.at);
  }
  return out;
}

export interface AudioResult {
  latencyMs: Record<Path, number[]>;
  /** CPU milliseconds per second of sound, per stream. */
  cpuMsPerSecond: Record<Path, number>;
  /** A level playing nothing: each process's CPU ms and times run, per second. */
  idle: Record<string, ThreadRuns>;
  /** From a player's start with a click to the click heard: the cage's (its sink idle), and pacat's on the host. */
  firstSoundMs: Record<Path, number[]>;
}

const FIRST_SOUND_PITCH = 2000;
const FIRST_SOUNDS = 6;
const IDLE_SECONDS = 10;

/** Starts a player that plays `click` at once and ends; resolves with the time the click was handed to it. */
type StartPlayer = (click: Buffer) => Promise<number>;

/**
 * A level that plays nothing, measured first (no stream has played yet): the sound part's, the
 * cage's server's and the host player's CPU and wake-ups. Then the latency of a first sound: a
 * player started with a click after seconds of quiet (the cage's sink idle since), on both paths.
 */
async function idleAndFirstSound(sup: SupervisorProcess, cage: ReturnType<typeof cageShellForUid>, host: HostSoundServer, recording: { bursts(): Burst[] }, log: (s: string) => void): Promise<Pick<AudioResult, 'idle' | 'firstSoundMs'>> {
  await new Promise((r) => setTimeout(r, 3000)); // past the cage's suspend delay, and the start's own work
  // This run's processes only: the manager's descendants (another run's cage may share the uid).
  const all = processes();
  const manager = all.find((p) => p.pid === sup.pid)!.ppid;
  const ours = new Set([manager]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) if (ours.has(p.ppid) && !ours.has(p.pid)) grew = Boolean(ours.add(p.pid));
  }
  const mine = all.filter((p) => ours.has(p.pid));
  const byName: Record<string, number[]> = {
    'sound part': mine.filter((p) => p.ppid === sup.pid && p.cmd.includes('out/supervisor/soundPart.js')).map((p) => p.pid),
    "host player (relay's pacat)": mine.filter((p) => p.cmd.includes('--stream-name=Cloison low')).map((p) => p.pid),
    "cage's pulseaudio": mine.filter((p) => p.cmd.startsWith('pulseaudio')).map((p) => p.pid),
  };
  const idle: Record<string, ThreadRuns> = {};
  const measured = await Promise.all(Object.values(byName).map((pids) => runsPerSecond(pids, IDLE_SECONDS)));
  Object.keys(byName).forEach((name, i) => (idle[name] = measured[i]!));
  log(`  idle (nothing plays, ${IDLE_SECONDS} s): ${Object.entries(idle).map(([name, r]) => `${name} (${byName[name]!.length} process) ${fmt(r.cpuMs, 2)} ms CPU/s, ${fmt(r.runs, 1)} runs/s`).join('; ')}`);

  // The cage's player: a fresh pacat in the cage whose standard input is a FIFO the bench opens.
  await cage('mkfifo ~/first.fifo && chmod 666 ~/first.fifo');
  const fifo = join(sup.homeOf('low'), 'first.fifo');
  const inCage: StartPlayer = async (click) => {
    void cage(`${PULSE} pacat --raw --format=s16le --rate=${RATE} --channels=2 --latency-msec=40 < ~/first.fifo >/dev/null 2>&1`, 30_000);
    let fd = -1;
    await waitFor(() => {
      try {
        fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK); // ENXIO until the cage's shell opened it
        return true;
      } catch {
        return false;
      }
    }, 'the first-sound player', 10_000, 2);
    writeSync(fd, click);
    const at = performance.now();
    closeSync(fd);
    return at;
  };
  const onHost: StartPlayer = async (click) => {
    const p = spawn('pacat', ['--playback', '--raw', '--format=s16le', `--rate=${RATE}`, '--channels=2', '--latency-msec=40'], {
      env: { ...process.env, PULSE_SERVER: host.target.server },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    p.stdin!.end(click);
    return performance.now();
  };
  const click = Buffer.concat([pcm(50, FIRST_SOUND_PITCH, 20000), pcm(100, FIRST_SOUND_PITCH, 0)]);
  const firstSoundMs: Record<Path, number[]> = { cloison: [], pacat: [] };
  for (let i = 0; i < FIRST_SOUNDS; i++) {
    for (const [path, start] of [['cloison', inCage], ['pacat', onHost]] as const) {
      const at = await start(click);
      let heard: Burst | undefined;
      const find = () => (heard = recording.bursts().find((b) => b.at > at && toneShare(b.sound, FIRST_SOUND_PITCH) > 0.3)) !== undefined;
      await waitFor(find, `a first sound on the ${path} path heard`, 15_000, 100);
      firstSoundMs[path].push(heard!.at - at);
      await new Promise((r) => setTimeout(r, 2500)); // the cage's sink idle again
    }
  }
  for (const path of ['cloison', 'pacat'] as const) log(`  first sound, ${path === 'cloison' ? 'a fresh pacat in the cage → relay → host' : 'a fresh pacat → host (reference)'}: median ${fmt(median(firstSoundMs[path]), 1)} ms (${firstSoundMs[path].map((v) => fmt(v, 0)).join(', ')})`);
  return { idle, firstSoundMs };
}

export async function runAudioBench(log: (s: string) => void): Promise<AudioResult> {
  const host = await startHostSoundServer();
  let sup: SupervisorProcess | null = null;
  const children: ChildProcess[] = [];
  const stops: Array<() => void> = [];
  try {
    // Recorded from the start: a null sink with no low-latency client renders in blocks of seconds,
    // and a stream started meanwhile would keep that wait as a backlog in its pipe for good.
    const recording = recordSpeakers(host);
    stops.push(recording.stop);
    const policy = `version: 1\nlevels:\n  - id: low\n    rank: 0\n    label: { fr: Bas, en: Low }\n    colour: "#1b7f3b"\n    cage: ${bwrapCage({ uid: UID })}\n`;
    sup = await startSupervisor(policy, { extraArgs: ['--audio-server', host.target.server, '--shell-user', 'cloison-shell-test'] });
    const cage = cageShellForUid(UID);
    await waitFor(async () => (await cage(`${PULSE} pactl info`)).code === 0, "the cage's own sound server", 15_000);
    const idle = await idleAndFirstSound(sup, cage, host, recording, log);
    // The cage's player: an ordinary pacat of the cage's, reading a FIFO in its home.
    const fifo = join(sup.homeOf('low'), 'bench.fifo');
    await cage('mkfifo ~/bench.fifo && chmod 666 ~/bench.fifo');
    void cage(`${PULSE} pacat --raw --format=s16le --rate=${RATE} --channels=2 --latency-msec=40 < ~/bench.fifo >/dev/null 2>&1`, 600_000);
    const cageFd = openSync(fifo, constants.O_WRONLY);
    // The reference: pacat piped straight into the host's server, with the relay's own settings.
    const direct = spawn('pacat', ['--playback', '--raw', '--format=s16le', `--rate=${RATE}`, '--channels=2', '--latency-msec=40', '--stream-name=reference'], {
      env: { ...process.env, PULSE_SERVER: host.target.server },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    children.push(direct);
    direct.stdin!.on('error', () => undefined);
    // Fed only once both players stream: sound written before would wait in the pipe for good,
    // a backlog the steady feed never drains (the reference first measured 1.5 s that way).
    const hostStreams = () => run('pactl', ['list', 'sink-inputs'], { env: { ...process.env, PULSE_SERVER: host.target.server } }).then((r) => r.stdout, () => '');
    await waitFor(async () => (await hostStreams()).includes('media.name = "reference"'), "the reference's stream", 10_000);
    await waitFor(async () => (await cage(`${PULSE} pactl list short sink-inputs`)).stdout.trim() !== '', "the cage player's stream", 10_000);
    const feeds = () => {
      const made = {
        cloison: clickable((chunk) => writeSync(cageFd, chunk), SILENCE, pcm(CHUNK_MS, PITCH.cloison, 20000)),
        pacat: clickable((chunk) => direct.stdin!.write(chunk), SILENCE, pcm(CHUNK_MS, PITCH.pacat, 20000)),
      };
      stops.push(made.cloison.stop, made.pacat.stop);
      return made;
    };
    stops.push(() => closeSync(cageFd));
    // Every server started and playing, the feeds pause until each player has run dry: whatever
    // was written ahead of the speakers while the streams started (a backlog a steady feed would
    // keep for good) is played out. The feeds then start again on a clean schedule.
    const warming = feeds();
    await new Promise((r) => setTimeout(r, 2000));
    warming.cloison.stop();
    warming.pacat.stop();
    await new Promise((r) => setTimeout(r, 2500));
    const paths = feeds();

    // One click a second, the paths taking turns: far enough apart that no two are heard together.
    const written: Array<{ path: Path; at: number }> = [];
    for (let i = 0; i < CLICKS; i++) {
      const path = i % 2 ? 'pacat' : 'cloison';
      written.push({ path, at: await paths[path].click() });
      await new Promise((r) => setTimeout(r, 1000));
    }
    const latencyMs = latencies(written, recording.bursts());

    // CPU: a steady tone through each path in turn, the other silent.
    const relay = () => processes().filter((p) => p.cmd.includes('--stream-name=Cloison low'));
    const supervisorPid = sup.pid;
    const soundPartPid = processes().find((p) => p.ppid === supervisorPid && p.cmd.includes('out/supervisor/soundPart.js'))!.pid;
    const cpuParts: Record<Path, Record<string, () => number>> = {
      // The relay itself runs in the sound part, the supervisor's unprivileged child (supervisor/audio/soundPart.ts).
      cloison: { supervisor: () => cpuSecondsOf(supervisorPid), 'sound part': () => cpuSecondsOf(soundPartPid), "relay's pacat": () => relay().reduce((s, p) => s + cpuSecondsOf(p.pid), 0) },
      pacat: { pacat: () => cpuSecondsOf(direct.pid!) },
    };
    const cpuMsPerSecond = {} as AudioResult['cpuMsPerSecond'];
    const partsMsPerSecond: Record<string, number> = {};
    for (const path of ['cloison', 'pacat'] as const) {
      paths[path].setBackground(TONE);
      await new Promise((r) => setTimeout(r, 1000));
      const before = Object.fromEntries(Object.entries(cpuParts[path]).map(([name, cpu]) => [name, cpu()]));
      await new Promise((r) => setTimeout(r, CPU_SECONDS * 1000));
      for (const [name, cpu] of Object.entries(cpuParts[path])) partsMsPerSecond[name] = ((cpu() - before[name]!) * 1000) / CPU_SECONDS;
      cpuMsPerSecond[path] = Object.keys(cpuParts[path]).reduce((sum, name) => sum + partsMsPerSecond[name]!, 0);
      paths[path].setBackground(SILENCE);
    }
    for (const path of ['cloison', 'pacat'] as const) {
      const t = latencyMs[path];
      const parts = Object.keys(cpuParts[path]).map((name) => `${name} ${fmt(partsMsPerSecond[name]!, 1)}`).join(', ');
      log(`  ${path === 'cloison' ? 'cage → relay → host' : 'pacat → host (reference)'}: latency median ${fmt(median(t), 1)} ms, p95 ${fmt(percentile(t, 95), 1)} ms over ${t.length} clicks; CPU ${fmt(cpuMsPerSecond[path], 1)} ms per second of sound (${parts})`);
    }
    return { latencyMs, cpuMsPerSecond, ...idle };
  } finally {
    for (const stop of stops) stop();
    for (const c of children) c.kill('SIGTERM');
    await sup?.stop();
    host.stop();
  }
}

