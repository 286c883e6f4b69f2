/**
 * The sound part's entry point: the process that reads what the cages write into their sound and
 * writes their microphone (soundRelay.ts: the budget, the silence and level measure, the volume,
 * the delay bound). The root part starts it as its child with its channel (soundPart.ts); it
 * drops to the `cloison` user for good before it takes anything: bounding set emptied, no
 * capability, no new privileges, the unprivileged service's syscall filter on every thread (as the
 * browser part does, sandbox/unprivilegedPart.ts), checked in /proc afterwards. From then on it
 * opens nothing: each cage's FIFOs and each host stream reach it as descriptors the root part
 * opened, and the root part decides who may be heard and who has the microphone.
 *
 * Its environment holds its start (SOUND_PART_START_ENV, JSON); it exits when the channel closes.
 */
import { closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { connectToRoot, socketOfDescriptor } from '../sandbox/partChannel';
import { restrictUnprivilegedPart } from '../sandbox/partSelfRestriction';
import { SOUND_PART_START_ENV, type RootToSoundPart, type SoundPartStart, type SoundPartToRoot } from './soundPartMessages';
import { SoundRelay } from './soundRelay';

const log = (msg: string, fields?: Record<string, unknown>) => process.stderr.write(`cloison sound part: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`);

/** The root part's messages, to main()'s handler once it is restricted; the root part gone, this one ends. */
let received = (_message: RootToSoundPart, fd: number | null): void => void (fd !== null && closeSync(fd));
const { send } = connectToRoot<SoundPartToRoot, RootToSoundPart>({ message: (m, fd) => received(m, fd), closed: () => process.exit(0) });

/** A handed descriptor as a socket that reads, or one that writes. */
function socketOf(fd: number | null, direction: 'read' | 'write'): Socket | null {
  if (fd === null) return null;
  return socketOfDescriptor(fd, { readable: direction === 'read', writable: direction === 'write' });
}

function main(): void {
  const start = JSON.parse(process.env[SOUND_PART_START_ENV] ?? 'null') as SoundPartStart | null;
  if (!start) throw new Error(`started without ${SOUND_PART_START_ENV}: the root part starts this`);
  delete process.env[SOUND_PART_START_ENV];
  process.chdir('/');
  // Each step throws if it did not happen: the part then stops, having relayed nothing.
  restrictUnprivilegedPart('the sound part', start.account);

  const relays = new Map<string, SoundRelay>();
  const fifos = new Map<string, { out?: Socket; mic?: Socket }>();
  const playerIn = new Map<string, Socket>();
  let hostUsable = false;

  received = (message, handle) => {
    switch (message.type) {
      case 'fifo': {
        const socket = socketOf(handle, message.direction === 'out' ? 'read' : 'write');
        if (!socket) return;
        const ends = fifos.get(message.level) ?? {};
        ends[message.direction]?.destroy();
        ends[message.direction] = socket;
        fifos.set(message.level, ends);
        return;
      }
      case 'attach': {
        relays.get(message.level)?.close();
        const ends = fifos.get(message.level);
        fifos.delete(message.level);
        if (!ends?.out) return void ends?.mic?.destroy();
        const { level } = message;
        const relay = new SoundRelay(ends.out, ends.mic ?? null, () => send({ type: 'player.want', level }));
        Object.assign(relay, { muted: message.muted, volume: message.volume, hostUsable });
        relay.readyPlayer();
        let playing = false;
        relay.on('change', (state) => {
          if (state.playing === playing) return;
          playing = state.playing;
          send({ type: 'playing', level, playing });
        });
        relays.set(level, relay);
        return;
      }
      case 'detach':
        relays.get(message.level)?.close();
        relays.delete(message.level);
        return;
      case 'settings': {
        const relay = relays.get(message.level);
        if (relay) Object.assign(relay, { muted: message.muted, volume: message.volume }).readyPlayer();
        return;
      }
      case 'host':
        hostUsable = message.usable;
        for (const relay of relays.values()) Object.assign(relay, { hostUsable }).readyPlayer();
        return;
      case 'player': {
        // Its standard input comes first, then its reports: together they are the level's player.
        const relay = relays.get(message.level);
        const socket = socketOf(handle, message.end === 'in' ? 'write' : 'read');
        if (!socket) return;
        if (message.end === 'in') {
          playerIn.get(message.level)?.destroy();
          return void playerIn.set(message.level, socket);
        }
        const stdin = playerIn.get(message.level);
        playerIn.delete(message.level);
        if (!relay || !stdin) return void (socket.destroy(), stdin?.destroy());
        relay.givePlayer(stdin, socket);
        return;
      }
      case 'recorder': {
        const socket = socketOf(handle, 'read');
        const relay = relays.get(message.level);
        if (!socket) return;
        if (!relay) return void socket.destroy();
        relay.giveRecorder(socket);
        return;
      }
    }
  };
  send({ type: 'ready' });
}

try {
  main();
} catch (err) {
  send({ type: 'failed', error: (err as Error).message.slice(0, 2000) });
  log('could not start', { error: (err as Error).message });
  setTimeout(() => process.exit(1), 100);
}
