/**
 * A compromised sound part (a cage's sound bytes found a bug in the relay): an attacker's script in
 * its place, started the same way, against the root part's side with a real host sound server.
 * What it asks beyond the broker's decisions gets nothing: no player for a muted level, a level
 * never attached or a slipped level id, never two players for one level; malformed messages are
 * refused and counted. The microphone's recorder runs only between the broker's giving and taking
 * back, and is stopped by the root part itself. The control: a level that may be heard gets its
 * player, both ends.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostSoundServer, type HostSoundServer } from '../testing/hostSoundServer';
import { testRoot } from '../testing/realCage';
import { waitFor } from '../testing/waitFor';
import { HostSound } from './hostSound';
import { SoundPart } from './soundPart';

/** The attacker: says it is ready, then asks for what it should not get, and writes down what came. */
const HOSTILE = `
import { writeFileSync } from 'node:fs';
import { connectToRoot } from '${new URL('../sandbox/partChannel.ts', import.meta.url).href}';
const got = [];
const out = new URL('./got.json', import.meta.url);
const { send } = connectToRoot({
  message: (m, fd) => {
    got.push({ ...m, handle: fd !== null });
    writeFileSync(out, JSON.stringify(got));
  },
  closed: () => process.exit(0),
});
send({ type: 'ready' });
setTimeout(() => {
  for (const level of ['low', 'ghost', 'high --bind / /']) send({ type: 'player.want', level });
  send({ type: 'player.want', level: 'high', extra: true });
  send({ type: 'exec', argv: ['sh'] });
  send({ type: 'recorder.want', level: 'high' });
  for (let i = 0; i < 5; i++) send({ type: 'player.want', level: 'high' });
}, 500);
`;

function processes(): Array<{ pid: number; cmd: string }> {
  return readdirSync('/proc').flatMap((e) => {
    try {
      return /^\d+$/.test(e) ? [{ pid: Number(e), cmd: readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ') }] : [];
    } catch {
      return [];
    }
  });
}
const players = (level: string) => processes().filter((p) => p.cmd.includes(`--stream-name=Cloison ${level} `) && p.cmd.includes('pacat'));
const recorders = (level: string) => processes().filter((p) => p.cmd.includes(`--stream-name=Cloison ${level} (microphone)`));

describe('a compromised sound part gets only what the broker decided', () => {
  const root = testRoot('cloison-hsound-');
  let host: HostSoundServer;
  let part: SoundPart;
  const got = () => {
    try {
      return JSON.parse(readFileSync(join(root, 'got.json'), 'utf8')) as Array<{ type: string; level?: string; end?: string; handle: boolean }>;
    } catch {
      return [];
    }
  };

  beforeAll(async () => {
    host = await startHostSoundServer();
    writeFileSync(join(root, 'hostile.ts'), HOSTILE);
    const fifo = (name: string) => {
      execFileSync('mkfifo', ['-m', '0600', join(root, name)]);
      return join(root, name);
    };
    part = new SoundPart({ host: new HostSound(host.target), partScript: join(root, 'hostile.ts') });
    part.setHostUsable(true);
    part.attach('low', { out: fifo('low-out'), mic: null }, { muted: true, volume: 100 });
    part.attach('high', { out: fifo('high-out'), mic: fifo('high-mic') }, { muted: false, volume: 100 });
    await part.start();
  }, 60_000);
  afterAll(async () => {
    await part?.stop();
    host?.stop();
  });

  it('no player for a muted level, an unknown level or a slipped id; one for the level that may be heard; bad messages refused', async () => {
    await waitFor(() => got().filter((m) => m.type === 'player').length >= 2, 'the allowed player handed over', 15_000);
    await new Promise((r) => setTimeout(r, 1000)); // what else it might have been given
    const handed = got().filter((m) => m.handle);
    console.log(`handed to the hostile part: ${JSON.stringify(handed)}`);
    expect(handed.filter((m) => m.type === 'player')).toEqual([
      { type: 'player', level: 'high', end: 'in', handle: true },
      { type: 'player', level: 'high', end: 'reports', handle: true },
    ]);
    expect(players('low')).toEqual([]);
    expect(players('high')).toHaveLength(1);
    expect(handed.filter((m) => m.type === 'recorder')).toEqual([]);
    expect(recorders('high')).toEqual([]);
    expect(part.refused).toBe(4); // the slipped id, the extra field, an unknown type twice
  }, 30_000);

  it('muting a level stops its player on the root side; the microphone runs only while given', async () => {
    const before = players('high')[0]!.pid;
    part.settings('high', { muted: true, volume: 100 });
    await waitFor(() => !processes().some((p) => p.pid === before), 'high\'s player stopped by the root part', 15_000);
    expect(players('high')).toEqual([]);

    part.startRecording('high');
    await waitFor(() => got().some((m) => m.type === 'recorder' && m.handle), 'the recorder handed over', 10_000);
    expect(recorders('high')).toHaveLength(1);
    const recorder = recorders('high')[0]!.pid;
    part.stopRecording('high');
    expect(part.state('high').recording).toBe(false);
    await waitFor(() => !processes().some((p) => p.pid === recorder), 'the recorder stopped by the root part', 15_000);
  }, 30_000);
});
