/**
 * `sound.host` behind the real manager socket, asked by a real process of the part's account, with
 * a real PulseAudio as the workstation's sound server (testing/hostSoundServer.ts, its own test
 * account). The part's channel is stood for by the test taking each handed descriptor (its own
 * copy of the same descriptor, as SCM_RIGHTS gives the part): a tone written into the player's end reaches the host's
 * speakers; the recorder's end carries the host microphone's tone; with the part's ends closed the
 * player ends (the manager kept no copy of them). Refused and journaled: the microphone for a
 * level the policy does not give it, a level the policy does not name. Seen with an executor that
 * starts a player per request (today's HostSound.playback, once per request): three requests left
 * three players of the user's running; now a new request ends the level's previous one.
 * A policy read again that takes the microphone away from a level (or turns sound off) ends that
 * level's recorder (and player) at the manager, the part still holding their ends: seen before,
 * the part's stop (asking again) refused by the new policy and the recorder running on.
 */
import { closeSync, readFileSync, readSync, readdirSync, writeSync } from 'node:fs';
import koffi from 'koffi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { parsePolicy } from '../policy/policyLoader';
import { startHostSoundServer, HOST_MIC_FREQUENCY, type HostSoundServer } from '../testing/hostSoundServer';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { sendFramesAs } from '../testing/rawFramesAs';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { toneShare, toneWav } from '../testing/tones';
import { waitFor } from '../testing/waitFor';
import { type RootExecutors } from './cageManagerServer';
import { soundHostExecutor, type HandedSoundEnd } from './soundHostExecutor';

let manager: ServedManager;
let host: HostSoundServer;
let execute: NonNullable<RootExecutors['sound.host']>;
let mine: ReturnType<typeof soundHostExecutor>;
/** The running policy: a test replaces it as the manager's SIGHUP does. */
let policy: Policy;
const policyWith = (audio: string) => parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: 58802 }), high: bwrapCage({ uid: 58803 }) }, audio), 'p.yaml');
/** The part's side: each end handed over, the test's own descriptor of it. */
const received: Array<HandedSoundEnd & { fd: number }> = [];
// Node's child pipes are socket pairs (no reopening by /proc/self/fd): the part's copy is a dup, as SCM_RIGHTS makes one.
const dup = koffi.load('libc.so.6').func('int dup(int)') as unknown as (fd: number) => number;
const part = {
  send(message: HandedSoundEnd, fd: number): boolean {
    received.push({ ...message, fd: dup(fd) });
    return true;
  },
};

const running = (program: string, stream: string) => () =>
  readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      return argv[0]!.endsWith(program) && argv.includes(`--stream-name=${stream}`);
    } catch {
      return false;
    }
  });
const players = running('pacat', 'Cloison low');
const recorders = running('parec', 'Cloison low (microphone)');
const ask = async (level: string, direction: string, action?: 'stop') => (await sendFramesAs(manager.cloison, manager.socketPath, [{ json: { id: 1, request: { op: 'sound.host', level, direction, ...(action ? { action } : {}) } } }])).replies[0] as { ok: boolean; result?: { stream: number; pid: number }; error?: { code: string; message: string } };

beforeAll(async () => {
  host = await startHostSoundServer();
  policy = policyWith('audio: { enabled: true, microphone: [low] }\n');
  mine = soundHostExecutor({ policy: () => policy, target: () => host.target, part: () => part });
  manager = await serveManagerToCloison({ prefix: 'cloison-hx-', policy: () => policy, executors: () => ({ 'sound.host': (req, peer) => execute(req, peer) }) });
}, 60_000);

afterAll(async () => {
  await manager?.close(() => {
    mine?.stop();
    for (const r of received) closeSync(r.fd);
    host?.stop();
  });
});

describe('sound.host', () => {
  it('hands the player\'s ends over: a tone written there reaches the speakers; the part\'s end closed, the player ends', async () => {
    execute = mine;
    const reply = await ask('low', 'playback');
    expect(reply).toMatchObject({ ok: true, result: { stream: 1 } });
    const ends = received.filter((r) => r.stream === 1);
    expect(ends.map((e) => e.end).sort()).toEqual(['in', 'reports']);
    const input = ends.find((e) => e.end === 'in')!;
    const tone = toneWav(660, 2).subarray(44);
    const writing = setInterval(() => {
      try {
        writeSync(input.fd, tone.subarray(0, 44100 * 4 * 0.1));
      } catch {
        /* full: the player takes its time */
      }
    }, 100);
    // The first player of the sound server's life takes a moment to connect: the speakers are listened
    // to up to three times while the tone is written; it must be heard in one.
    await waitFor(() => players().length === 1, 'the player running');
    let share = 0;
    try {
      for (let attempt = 0; attempt < 3 && share <= 0.5; attempt++) share = toneShare(await host.recordSpeakers(1500), 660);
    } finally {
      clearInterval(writing);
    }
    expect(share).toBeGreaterThan(0.5);
    // Asked again: the level's previous player ends, one runs.
    expect((await ask('low', 'playback')).ok).toBe(true);
    await waitFor(() => players().length === 1, 'one player');
    const last = received.filter((r) => r.stream === 2);
    for (const e of last) closeSync(e.fd);
    received.splice(received.indexOf(last[0]!), 1);
    received.splice(received.indexOf(last[1]!), 1);
    await waitFor(() => players().length === 0, 'the player ended with the part\'s ends closed');
  }, 30_000);

  it('hands the recorder\'s end over for a level given the microphone: the host microphone\'s tone', async () => {
    const reply = await ask('low', 'record');
    expect(reply.ok).toBe(true);
    const out = received.find((r) => r.stream === reply.result!.stream && r.end === 'out')!;
    const chunks: Buffer[] = [];
    await waitFor(() => {
      const buf = Buffer.alloc(65536);
      try {
        const n = readSync(out.fd, buf);
        if (n > 0) chunks.push(buf.subarray(0, n));
      } catch {
        /* nothing yet */
      }
      return Buffer.concat(chunks).length >= 44100;
    }, 'the microphone\'s sound', 10_000);
    expect(toneShare(Buffer.concat(chunks), HOST_MIC_FREQUENCY)).toBeGreaterThan(0.5);
  }, 30_000);

  it('refuses the microphone for a level the policy does not give it, and an unnamed level; journaled, nothing started', async () => {
    const before = received.length;
    const seen = manager.refusals().length;
    expect(await ask('high', 'record')).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED', message: 'level high may not have the microphone' } });
    expect(await ask('secret', 'playback')).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED' } });
    expect(manager.refusals().slice(seen)).toEqual([expect.objectContaining({ op: 'sound.host', peerUid: manager.cloison.uid }), expect.objectContaining({ op: 'sound.host', peerUid: manager.cloison.uid })]);
    expect(received.length).toBe(before);
  }, 30_000);

  it('ends the level\'s recorder when a reloaded policy takes the microphone away, and its player and recorder when it turns sound off', async () => {
    execute = mine;
    expect(await ask('low', 'record')).toMatchObject({ ok: true });
    expect(await ask('low', 'playback')).toMatchObject({ ok: true });
    await waitFor(() => recorders().length === 1 && players().length === 1, 'the recorder and the player running');
    policy = policyWith('audio: { enabled: true, microphone: [] }\n');
    mine.policyReloaded();
    // The part's own stop (asking again) is refused by the new policy: the manager ends the recorder itself.
    expect(await ask('low', 'record')).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED' } });
    await waitFor(() => recorders().length === 0, 'the recorder ended by the reload');
    expect(players()).toHaveLength(1);
    policy = policyWith('audio: { enabled: false }\n');
    mine.policyReloaded();
    await waitFor(() => players().length === 0, 'the player ended by the reload');
  }, 30_000);

  it('the part\'s stop ends the level\'s recorder and starts none, even once the policy takes the microphone away; a stop of nothing running starts nothing', async () => {
    policy = policyWith('audio: { enabled: true, microphone: [low] }\n');
    expect(await ask('low', 'record')).toMatchObject({ ok: true });
    await waitFor(() => recorders().length === 1, 'the recorder running');
    const handed = received.length;
    const recorder = recorders()[0];
    // The microphone taken away without a reload: the stop is still allowed.
    policy = policyWith('audio: { enabled: true, microphone: [] }\n');
    expect(await ask('low', 'record', 'stop')).toMatchObject({ ok: true, result: { stopped: true } });
    await waitFor(() => recorders().length === 0, 'the recorder ended by the stop');
    expect(received.length).toBe(handed);
    expect(recorders()).not.toContain(recorder);
    expect(await ask('low', 'playback', 'stop')).toMatchObject({ ok: true, result: { stopped: false } });
    expect(players()).toEqual([]);
    expect(received.length).toBe(handed);
  }, 30_000);
});
