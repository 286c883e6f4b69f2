/**
 * The manager's side of `sound.host`: the host's player (pacat) or recorder (parec) for one level,
 * run as the workstation user with that user's sound server (audio/hostSound.ts), and its pipe
 * ends handed to the unprivileged part as descriptors on the part's channel, the way the VNC
 * socket is (socketHandOver.ts; the sound part's way today, audio/soundPart.ts): the player's
 * standard input and the standard error where it reports what it played, or the recorder's
 * standard output. The manager then closes its own copies and reads none of their bytes: the part
 * holds the only ends, and when it closes them (or ends) the player sees end of file and the
 * recorder a broken pipe, and both end.
 *
 * Only for a level the running policy names with sound on, and for `record` a level the policy
 * gives the microphone (checked again here, against the policy running at that moment; a policy
 * read again ends at once what it no longer allows: policyReloaded, which the manager's SIGHUP
 * calls, and any request after it). `action: 'stop'` ends the level's program of that direction and
 * starts none (always allowed). One player and one recorder per level: a new request ends the previous one (the part asks again after a
 * restart, its old ends gone), so a compromised part cannot pile up processes of the user's.
 */
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { CloisonError } from '../../shared/errors';
import type { Policy } from '../../shared/policy';
import { HostSound, type HostSoundTarget } from '../audio/hostSound';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';

export const SOUND_HOST_MESSAGE = 'cloison.soundHost';

/** What goes with each descriptor: which level, which direction, which end of the program. */
export interface HandedSoundEnd {
  type: typeof SOUND_HOST_MESSAGE;
  level: string;
  direction: 'playback' | 'record';
  /** `in`: the player's PCM input; `reports`: its verbose standard error; `out`: the recorder's PCM. */
  end: 'in' | 'reports' | 'out';
  /** Which request this is, so the part matches the descriptors with the answer. */
  stream: number;
}

/** The part's channel (cloisonPart.ts's UnprivilegedPart): a message with a descriptor. */
export interface SoundPartEnd {
  send(message: HandedSoundEnd, fd: number): boolean;
}

export interface SoundHostExecutorOptions {
  policy(): Policy;
  /** The workstation user's sound server and ids (null: none on this machine). */
  target(): HostSoundTarget | null;
  part(): SoundPartEnd | null;
}

/** Why the policy refuses this level this direction, or null. */
function refusalOf(policy: Policy, level: string, direction: HandedSoundEnd['direction']): string | null {
  if (!policy.audio.enabled) return 'sound is off in the running policy';
  if (!policy.levels.some((l) => l.id === level)) return `no level "${level}" in the running policy`;
  if (direction === 'record' && !policy.audio.microphone.includes(level)) return `level ${level} may not have the microphone`;
  return null;
}

export function soundHostExecutor(options: SoundHostExecutorOptions): ((req: RequestOf<'sound.host'>) => Promise<{ stream: number; pid: number } | { stopped: boolean }>) & { policyReloaded(): void; stop(): void } {
  const running = new Map<string, ChildProcess>();
  let next = 1;
  // What the running policy no longer allows ends here, whatever the part holds or asks: the part's
  // own stop is a request the new policy refuses, and a compromised part would not ask.
  const endRefused = (policy: Policy) => {
    for (const [key, child] of running) {
      const [level, direction] = key.split('\0') as [string, HandedSoundEnd['direction']];
      if (!refusalOf(policy, level, direction)) continue;
      child.kill('SIGTERM');
      running.delete(key);
    }
  };
  const execute = async (req: RequestOf<'sound.host'>) => {
    // The part's stop ends the level's program and opens none (whatever the policy now says).
    if (req.action === 'stop') {
      const child = running.get(`${req.level}\0${req.direction}`);
      child?.kill('SIGTERM');
      running.delete(`${req.level}\0${req.direction}`);
      return { stopped: child !== undefined };
    }
    const policy = options.policy();
    endRefused(policy);
    const refusal = refusalOf(policy, req.level, req.direction);
    if (refusal) throw refused(refusal);
    const target = options.target();
    if (!target) throw new CloisonError('WRONG_STATE', 'no sound server on this machine: the cages\' sound is discarded');
    const part = options.part();
    if (!part) throw new CloisonError('INTERNAL', 'the unprivileged part is not running');
    const key = `${req.level}\0${req.direction}`;
    running.get(key)?.kill('SIGTERM');
    const host = new HostSound(target);
    const child = req.direction === 'playback' ? host.playback(`Cloison ${req.level}`) : host.capture(`Cloison ${req.level} (microphone)`);
    running.set(key, child);
    child.on('exit', () => {
      if (running.get(key) === child) running.delete(key);
    });
    const stream = next++;
    const ends: Array<[HandedSoundEnd['end'], Socket | null]> =
      req.direction === 'playback' ? [['in', child.stdin as Socket | null], ['reports', child.stderr as Socket | null]] : [['out', child.stdout as Socket | null]];
    try {
      for (const [end, socket] of ends) handOver(part, { type: SOUND_HOST_MESSAGE, level: req.level, direction: req.direction, end, stream }, socket);
    } catch (err) {
      child.kill('SIGTERM');
      throw err;
    } finally {
      // Every end of ours closed: handed or not, the manager keeps none.
      for (const s of [child.stdin, child.stdout, child.stderr] as Array<Socket | null>) s?.destroy();
    }
    return { stream, pid: child.pid ?? 0 };
  };
  return Object.assign(execute, {
    /** The manager's policy was read again (SIGHUP): a level's recorder without the microphone, or its programs with sound off or the level gone, end now. */
    policyReloaded: () => endRefused(options.policy()),
    stop: () => {
      for (const child of running.values()) child.kill('SIGTERM');
      running.clear();
    },
  });
}

/** One end's descriptor sent, never read here first (its bytes would be lost to the part). */
function handOver(part: SoundPartEnd, message: HandedSoundEnd, socket: Socket | null): void {
  if (!socket) throw new CloisonError('INTERNAL', `the ${message.direction} program has no ${message.end} end`);
  const handle = (socket as unknown as { _handle?: { fd?: number; readStop?: () => void; reading?: boolean } | null })._handle;
  if (handle && socket.readable) {
    handle.reading = false;
    handle.readStop?.();
  }
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0 || socket.bytesRead > 0 || socket.readableLength > 0) throw new CloisonError('INTERNAL', `the ${message.direction} program's ${message.end} end cannot be handed over`);
  if (!part.send(message, fd)) throw new CloisonError('INTERNAL', 'the unprivileged part did not take the sound descriptor');
}
