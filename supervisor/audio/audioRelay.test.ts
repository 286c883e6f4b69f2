/**
 * Sound per level with real sound servers: the host's (a PulseAudio the test starts, its speakers a
 * null sink the test records, its microphone a 440 Hz tone) and one inside each real cage. A level
 * playing nothing is not read, its host player ready for the first sound. A tone
 * played in low reaches the speakers, and one in high too; muting low silences it while high
 * plays on; the band's view says who plays, measured. The microphone given to high is heard in
 * high; low, which may have it too, hears silence meanwhile and gets it only after a release; a
 * level the policy does not name gets no microphone at all. Neither cage can reach the host's sound
 * server or the other's.
 */
import { execFile } from 'node:child_process';
import { chownSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioBroker } from './audioBroker';
import { HostSound } from './hostSound';
import { parsePolicy } from '../policy/policyLoader';
import type { Supervisor } from '../supervisor';
import { startHostSoundServer, HOST_MIC_FREQUENCY, type HostSoundServer } from '../testing/hostSoundServer';
import { cageShell, innerPidOf, testRoot } from '../testing/realCage';
import type { RpcClient } from '../testing/rpcClient';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { peak, toneShare, toneWav } from '../testing/tones';
import { waitFor } from '../testing/waitFor';

const UIDS = { low: 58525, high: 58526 };
const run = promisify(execFile);
const readBytes = (pid: number) => Number(/^rchar: (\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);

/** The sound part: the test supervisor's child that runs soundPart.js. */
function soundPartPid(): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('soundPart')) return Number(entry);
    } catch {
      /* gone */
    }
  }
  throw new Error('no sound part');
}
const TONES = { low: 660, high: 990 };
const PULSE = 'PULSE_SERVER=unix:/tmp/pulse/native';

/** How long `frequency` is heard in a mono recording, counted in 10 ms windows where it dominates. */
function secondsOfTone(pcm: Buffer, frequency: number): number {
  const window = 441 * 2;
  let windows = 0;
  for (let at = 0; at + window <= pcm.length; at += window) {
    const part = pcm.subarray(at, at + window);
    if (peak(part) > 1000 && toneShare(part, frequency) > 0.3) windows++;
  }
  return windows / 100;
}

describe('sound per level (real sound servers, real cages)', () => {
  const root = testRoot('cloison-audio-');
  let host: HostSoundServer;
  let t: TestSupervisor;
  let sup: Supervisor;
  let rpc: RpcClient;
  const shell = (level: 'low' | 'high') => cageShell(innerPidOf(sup, level), UIDS[level]);
  const home = (level: string) => join(root, 'state', 'cages', level, 'home');
  const view = () => sup.audio.view();
  const levelView = (level: string) => view().levels.find((l) => l.level === level)!;

  beforeAll(async () => {
    host = await startHostSoundServer();
    const policyText = twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) }, 'audio: { microphone: [high] }\n');
    t = await startTestSupervisor(policyText, { root, hostSound: host.target });
    ({ sup, rpc } = t);
    await waitFor(() => view().host.state === 'connected' && levelView('low').available && levelView('high').available, 'both cages relayed');
    for (const level of ['low', 'high'] as const) {
      const file = join(home(level), 'tone.wav');
      writeFileSync(file, toneWav(TONES[level], 30));
      chownSync(file, UIDS[level], UIDS[level]);
      await waitFor(async () => (await shell(level)(`${PULSE} pactl info`)).code === 0, `${level}'s own sound server`);
    }
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    host?.stop();
  });

  it('a level that plays nothing is not read (its sink writes nothing), its host player waits ready; a stream of silence is read at its rate, as before', async () => {
    // No stream has played in either cage yet; their sinks' suspend delay has passed.
    await new Promise((r) => setTimeout(r, 2000));
    const part = soundPartPid();
    const readOver = async (ms: number) => {
      const before = readBytes(part);
      await new Promise((r) => setTimeout(r, ms));
      return readBytes(part) - before;
    };
    // Two cages' sinks writing silence would be ~700 KB in 2 s; what is read now is the part's channel.
    expect(await readOver(2000)).toBeLessThan(16_384);
    // Each level's player on the host already runs, asked for ahead: the first sound does not wait for one.
    const hostStreams = (await run('pactl', ['list', 'sink-inputs'], { env: { ...process.env, PULSE_SERVER: host.target.server } })).stdout;
    for (const level of ['low', 'high']) expect(hostStreams).toContain(`media.name = "Cloison ${level}"`);
    // A cage that keeps its sink awake with a stream of silence: read at the format's rate, no more.
    const awake = shell('low')(`${PULSE} timeout 5 pacat --raw --format=s16le --rate=44100 --channels=2 < /dev/zero; true`, 20_000);
    await waitFor(async () => (await shell('low')(`${PULSE} pactl list short sink-inputs`)).stdout.trim() !== '', "low's stream of silence");
    await new Promise((r) => setTimeout(r, 500));
    const read = await readOver(2000);
    await awake;
    const rate = 44100 * 4 * 2;
    expect(read).toBeGreaterThan(rate * 0.6);
    expect(read).toBeLessThan(rate * 1.3 + 16_384);
  });

  it('low and high each reach the speakers; muted, low is silent while high plays on; the view says who plays', async () => {
    expect(levelView('low')).toMatchObject({ playing: false });
    for (const level of ['low', 'high'] as const) await shell(level)(`${PULSE} paplay ~/tone.wav >/dev/null 2>&1 &`);
    await waitFor(() => levelView('low').playing && levelView('high').playing, 'both playing, as measured');
    // Under load one stream may stutter for a second: a window where both are heard is what is asked.
    let both: Buffer = Buffer.alloc(0);
    const bothHeard = () => toneShare(both, TONES.low) > 0.1 && toneShare(both, TONES.high) > 0.1;
    await waitFor(async () => ((both = await host.recordSpeakers(1500)), bothHeard()), 'low and high heard together', 15_000, 0);
    expect(toneShare(both, TONES.low)).toBeGreaterThan(0.1);
    expect(toneShare(both, TONES.high)).toBeGreaterThan(0.1);

    expect(await rpc.call('audio.set', { level: 'low', muted: true })).toMatchObject({ ok: true });
    // What was already on its way to the speakers drains; then high alone is heard. Under load high's
    // own stream may stutter for a second: a window with low silent and high heard is what is asked.
    let highOnly: Buffer = Buffer.alloc(0);
    const highAlone = () => toneShare(highOnly, TONES.low) < 0.005 && toneShare(highOnly, TONES.high) > 0.3;
    await waitFor(async () => ((highOnly = await host.recordSpeakers(1000)), highAlone()), 'low silent, high heard', 15_000, 0);
    expect(toneShare(highOnly, TONES.low)).toBeLessThan(0.005);
    expect(toneShare(highOnly, TONES.high)).toBeGreaterThan(0.3);
    expect(levelView('low')).toMatchObject({ muted: true, playing: true }); // it still plays, you do not hear it
    await rpc.call('audio.set', { level: 'low', muted: false });
  });

  it('sound held up while the host stalled is dropped, not played late: muted then, a level is silent at once', async () => {
    await shell('low')(`${PULSE} paplay ~/tone.wav >/dev/null 2>&1 &`);
    await waitFor(() => levelView('low').playing, 'low playing');
    // The host's speakers stop taking sound for 2.5 s (a device switch, a stuck server) while low
    // plays on; the user mutes low before they come back.
    await host.pactl('suspend-sink', 'speakers', '1');
    await new Promise((r) => setTimeout(r, 2500));
    expect(await rpc.call('audio.set', { level: 'low', muted: true })).toMatchObject({ ok: true });
    const after = host.recordSpeakers(3000); // counts only what the speakers render, from their return
    await host.pactl('suspend-sink', 'speakers', '0');
    // What is heard of low after it was muted is what the relay had queued for the host: a blink,
    // not the seconds that piled up while the speakers were away.
    const stale = secondsOfTone(await after, TONES.low);
    await rpc.call('audio.set', { level: 'low', muted: false });
    expect(stale).toBeLessThan(0.25);
  });

  it('the microphone: off by default, given to high (journaled), heard there; never to a level the policy does not name', async () => {
    // Low is not named by the policy: it has no microphone at all.
    expect((await shell('low')(`${PULSE} pactl list short sources`)).stdout).not.toContain('cloison_mic');
    expect(await rpc.call('audio.microphone', { level: 'low' })).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED' } });
    // High has one, silent until the user gives it the microphone.
    const record = async () => {
      await shell('high')(`${PULSE} timeout 1 parec -d cloison_mic --raw --format=s16le --rate=44100 --channels=1 > ~/mic.raw; true`);
      return readFileSync(join(home('high'), 'mic.raw'));
    };
    const silence = await record();
    expect(silence.length).toBeGreaterThan(0);
    expect(peak(silence)).toBe(0);
    expect(await rpc.call('audio.microphone', { level: 'high' })).toMatchObject({ ok: true, result: { microphone: 'high' } });
    expect(levelView('high').recording).toBe(true);
    // The host's microphone (its 440 Hz tone) is heard in high, once the capture has started.
    await waitFor(async () => toneShare(await record(), HOST_MIC_FREQUENCY) > 0.3, 'the tone heard in high', 15_000, 0);
    expect(await rpc.call('audio.microphone', { level: null })).toMatchObject({ ok: true, result: { microphone: null } });
    const journal = readFileSync(join(root, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(journal.filter((r) => r.kind === 'audio.microphone').map((r) => [r.actor, r.level, r.action])).toEqual([
      ['user', 'high', 'assign'],
      ['user', 'high', 'release'],
    ]);
  });

  it('neither cage can reach the host sound server nor the other cage\'s', async () => {
    const hostSocket = host.target.server.replace('unix:', '');
    for (const level of ['low', 'high'] as const) {
      const tried = await shell(level)(`ls -la ${hostSocket}; PULSE_SERVER=${host.target.server} pactl info; ls /run/user /tmp/pulse`);
      expect(tried.stdout).not.toContain('Server Name');
      expect(tried.stderr).toMatch(/No such file or directory|Connection refused/);
      // Its own server: its own sink (and microphone feed) only, no device of the host's.
      const sinks = (await shell(level)(`${PULSE} pactl list short sinks`)).stdout.trim().split('\n').map((l) => l.split('\t')[1]);
      expect(sinks).toEqual(level === 'high' ? ['cloison', 'cloison_mic_feed'] : ['cloison']);
    }
  });
});

describe('the microphone goes to one level at a time', () => {
  it('a second level gets it only after a release; each step is recorded with who did it', async () => {
    const host = await startHostSoundServer();
    const { levels: twoLevels } = parsePolicy(twoLevelPolicy({ low: bwrapCage(), high: bwrapCage() }), 'p.yaml');
    const records: Array<[string, string, Record<string, unknown>]> = [];
    const broker = new AudioBroker({
      policy: { current: () => ({ audio: { enabled: true, microphone: ['low', 'high'] }, levels: twoLevels }) },
      host: new HostSound(host.target),
      record: (kind, actor, fields) => records.push([kind, actor, fields]),
    });
    try {
      await broker.start();
      expect(broker.view().microphone).toBeNull(); // off until the user gives it
      broker.setMicrophone('high');
      expect(() => broker.setMicrophone('low')).toThrow(/with level "high": release it first/);
      broker.setMicrophone(null);
      broker.setMicrophone('low');
      expect(broker.view().microphone).toBe('low');
      expect(records).toEqual([
        ['audio.microphone', 'user', { level: 'high', action: 'assign' }],
        ['audio.microphone', 'user', { level: 'high', action: 'release' }],
        ['audio.microphone', 'user', { level: 'low', action: 'assign' }],
      ]);
    } finally {
      await broker.close();
      host.stop();
    }
  });
});
