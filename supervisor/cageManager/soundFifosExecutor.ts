/**
 * The manager's side of `sound.fifos`: the FIFOs of a level's running cage's own sound server
 * (cages/cageSound.ts: made by the cage's driver in root's run folder, root's and the cage's
 * group's), opened here and handed to the unprivileged part as descriptors on its channel, as the
 * root supervisor hands them to its sound part today (audio/soundPart.ts): the cage's playback
 * (`out`, the part reads it) and, only where the running policy gives the level the microphone,
 * its microphone (`mic`, the part writes it). The manager then closes its copies and reads none of
 * their bytes.
 *
 * The request names a level only: the paths are the ones the manager's own RunningCage holds for
 * that level (the driver it started), never a path from the part. Each is opened without following
 * a link, read-write and non-blocking (neither side then sees the FIFO's end, as the sound part's
 * are opened), and must be a FIFO.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { CloisonError } from '../../shared/errors';
import type { Policy } from '../../shared/policy';
import type { RunningCage } from '../cages/cageDriver';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';

export const SOUND_FIFO_MESSAGE = 'cloison.soundFifo';

/** What goes with each descriptor: the level, which FIFO, and which request it answers. */
export interface HandedSoundFifo {
  type: typeof SOUND_FIFO_MESSAGE;
  level: string;
  direction: 'out' | 'mic';
  stream: number;
}

export interface SoundFifoPartEnd {
  send(message: HandedSoundFifo, fd: number): boolean;
}

export interface SoundFifosExecutorOptions {
  policy(): Policy;
  /** The level's running cage, the manager's (managedCages.ts), or null. */
  cage(level: string): RunningCage | null;
  part(): SoundFifoPartEnd | null;
}

export function soundFifosExecutor(options: SoundFifosExecutorOptions): (req: RequestOf<'sound.fifos'>) => Promise<{ stream: number; mic: boolean }> {
  let next = 1;
  return async (req) => {
    const policy = options.policy();
    if (!policy.audio.enabled) throw refused('sound is off in the running policy');
    if (!policy.levels.some((l) => l.id === req.level)) throw refused(`no level "${req.level}" in the running policy`);
    const cage = options.cage(req.level);
    if (!cage) throw new CloisonError('CAGE_UNAVAILABLE', `cage ${req.level} is not running`);
    if (!cage.sound) throw new CloisonError('WRONG_STATE', `cage ${req.level} has no sound server of its own`);
    const part = options.part();
    if (!part) throw new CloisonError('INTERNAL', 'the unprivileged part is not running');
    // The microphone only while the policy running now gives it (a reload may have taken it back).
    const mic = cage.sound.mic !== null && policy.audio.microphone.includes(req.level) ? cage.sound.mic : null;
    const stream = next++;
    const opened: Array<['out' | 'mic', number]> = [];
    try {
      opened.push(['out', openFifo(cage.sound.out)]);
      if (mic) opened.push(['mic', openFifo(mic)]);
      for (const [direction, fd] of opened) {
        if (!part.send({ type: SOUND_FIFO_MESSAGE, level: req.level, direction, stream }, fd)) throw new CloisonError('INTERNAL', 'the unprivileged part did not take the sound FIFO');
      }
    } finally {
      for (const [, fd] of opened) closeSync(fd);
    }
    return { stream, mic: mic !== null };
  };
}

/** Opened as the sound part's are, never through a link; anything but a FIFO refused. */
function openFifo(path: string): number {
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  if (!fstatSync(fd).isFIFO()) {
    closeSync(fd);
    throw new CloisonError('INTERNAL', `${path} is not the cage's sound FIFO`);
  }
  return fd;
}
