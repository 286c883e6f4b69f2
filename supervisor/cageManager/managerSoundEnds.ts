/**
 * Where the sound's descriptors come from when the supervisor is the unprivileged `cloison` part
 * (issue #29): the root cage manager opens them and hands them over on the part's channel, as the
 * root supervisor opens them for its sound part today (audio/soundPart.ts) — a running cage's FIFOs by
 * `sound.fifos`, the host's player and recorder (pacat/parec as the workstation user) by
 * `sound.host` (and ended by its `action: 'stop'`). This side only passes each descriptor on to the sound part and closes its copy: it
 * reads none of their bytes.
 *
 * A descriptor and the manager's answer naming it travel on two sockets: whichever comes first
 * waits for the other; one nobody claims is closed.
 */
import { closeSync } from 'node:fs';
import type { RemoteSoundEnds, SoundFifoEnds } from '../audio/remoteSoundEnds';
import type { ManagerRequester } from './managerLink';
import { onHandedDescriptor } from './socketHandOver';
import { SOUND_FIFO_MESSAGE } from './soundFifosExecutor';
import { SOUND_HOST_MESSAGE } from './soundHostExecutor';

const UNCLAIMED_MS = 10_000;
const TAKE_TIMEOUT_MS = 5_000;

export class ManagerSoundEnds implements RemoteSoundEnds {
  private readonly arrived = new Map<string, number>();
  private readonly waiting = new Map<string, (fd: number) => void>();

  constructor(private readonly client: ManagerRequester) {
    for (const type of [SOUND_FIFO_MESSAGE, SOUND_HOST_MESSAGE]) onHandedDescriptor(type, (message, fd) => this.arrive(message, fd));
  }

  async fifos(level: string): Promise<SoundFifoEnds> {
    const answer = (await this.client.request({ op: 'sound.fifos', level })) as { stream: number; mic: boolean };
    const out = this.take(`${SOUND_FIFO_MESSAGE}:${answer.stream}:out`);
    const mic = answer.mic ? this.take(`${SOUND_FIFO_MESSAGE}:${answer.stream}:mic`) : Promise.resolve(null);
    return both(out, mic, (o, m) => ({ out: o, mic: m }));
  }

  async player(level: string): Promise<{ in: number; reports: number }> {
    const { stream } = (await this.client.request({ op: 'sound.host', level, direction: 'playback' })) as { stream: number };
    return both(this.take(`${SOUND_HOST_MESSAGE}:${stream}:in`), this.take(`${SOUND_HOST_MESSAGE}:${stream}:reports`), (i, r) => ({ in: i, reports: r }));
  }

  async recorder(level: string): Promise<number> {
    const { stream } = (await this.client.request({ op: 'sound.host', level, direction: 'record' })) as { stream: number };
    return this.take(`${SOUND_HOST_MESSAGE}:${stream}:out`);
  }

  /** The manager ends the level's program: asking for a new one and closing it would start a second recording first. */
  async stop(level: string, direction: 'playback' | 'record'): Promise<void> {
    await this.client.request({ op: 'sound.host', level, direction, action: 'stop' });
  }

  private arrive(message: Record<string, unknown>, fd: number): void {
    const { type, stream } = message;
    const end = type === SOUND_FIFO_MESSAGE ? message.direction : message.end;
    if (typeof stream !== 'number' || typeof end !== 'string') return closeSync(fd);
    const key = `${String(type)}:${stream}:${end}`;
    const waiter = this.waiting.get(key);
    if (waiter) {
      this.waiting.delete(key);
      return waiter(fd);
    }
    const older = this.arrived.get(key);
    if (older !== undefined) closeSync(older);
    this.arrived.set(key, fd);
    setTimeout(() => {
      if (this.arrived.get(key) !== fd) return;
      this.arrived.delete(key);
      closeSync(fd);
    }, UNCLAIMED_MS).unref();
  }

  private take(key: string): Promise<number> {
    const ready = this.arrived.get(key);
    if (ready !== undefined) {
      this.arrived.delete(key);
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new Error(`the sound descriptor ${key} was not handed over within ${TAKE_TIMEOUT_MS} ms`));
      }, TAKE_TIMEOUT_MS);
      this.waiting.set(key, (fd) => {
        clearTimeout(timer);
        resolve(fd);
      });
    });
  }
}

/** Both descriptors, or neither: the one that came is closed if the other never does. */
async function both<A extends number | null, B extends number | null, R>(a: Promise<A>, b: Promise<B>, join: (a: A, b: B) => R): Promise<R> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'fulfilled' && rb.status === 'fulfilled') return join(ra.value, rb.value);
  for (const r of [ra, rb]) if (r.status === 'fulfilled' && r.value !== null) closeSync(r.value);
  throw (ra.status === 'rejected' ? ra.reason : (rb as PromiseRejectedResult).reason) as Error;
}
