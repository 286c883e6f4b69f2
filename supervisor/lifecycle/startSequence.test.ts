/**
 * The start's order around the shell's address (issue #26): said as soon as the browser part and
 * the sockets listen, while USB and the smart card are still being set up; a shell's call made
 * meanwhile waits for that set-up and the cages' start, and answers from them; the cages still start
 * beside the browser part (not after it), after USB and the card; a failure of either is what it was.
 */
import { describe, expect, it, vi } from 'vitest';
import type { RpcHandlers } from '../rpc/rpcSession';
import { Disposables } from '../system/disposables';
import { runStartSequence, StartGate, type StartParts } from './startSequence';

/** A promise resolved (or rejected) from outside. */
function later<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

/** The parts with each step held by a promise of the test's; `order` records what happened when. */
function fakeStart() {
  const order: string[] = [];
  const mounts = later();
  const card = later();
  const partListens = later();
  const gate = new StartGate();
  const disposables = new Disposables();
  let cagesStatus = 'stopped';
  const parts = {
    options: { policySource: 'p.yaml' },
    policyStore: { current: () => ({ levels: [{ id: 'low' }, { id: 'high' }] }), text: 'levels: []' },
    journalFact: () => undefined,
    disposables,
    training: {},
    part: { start: () => (order.push('part starting'), partListens.promise), stop: () => undefined },
    listen: async () => void order.push('sockets listen'),
    mediaMounts: { prepare: () => mounts.promise.then(() => void order.push('USB set up')), unmountAllUnder: async () => undefined },
    devices: { close: async () => undefined },
    deviceWatcher: { start: () => order.push('device watcher'), stop: () => undefined },
    fleet: {
      startAll: () => {
        order.push('cages starting');
        cagesStatus = 'starting';
        return Promise.resolve();
      },
      stopAll: async () => undefined,
    },
    keepCages: () => false,
    smartcard: {
      start: () => card.promise.then(() => void order.push('card set up')),
      remotePresence: () => ({ start: () => undefined, stop: () => undefined }),
      close: async () => undefined,
    },
    lock: { activity: () => undefined, dispose: () => undefined },
    sleepGuard: { start: () => undefined, stop: () => undefined },
    files: {},
    stagingDir: '/nonexistent',
    audio: { start: async () => undefined, close: () => undefined },
    hostReady: () => order.push('host ready'),
    gate,
  } as unknown as StartParts;
  // The shell's view of the cages, held by the gate as the supervisor's handlers are.
  const handlers = gate.hold({ 'session.describe': () => ({ cages: cagesStatus }) } as unknown as RpcHandlers) as unknown as Record<string, () => Promise<{ cages: string }>>;
  return { parts, order, mounts, card, partListens, handlers, disposables };
}

// The staging area is the cloison part's remote one in these fakes (no mount tried).
vi.mock('../files/fileStaging', () => ({ prepareFileStaging: async () => () => undefined, prepareRemoteFileStaging: async () => () => undefined }));

describe('the start sequence around the shell\'s address', () => {
  it('says the address once the browser part listens, while USB and the card are still set up; a call made then answers once the cages start', async () => {
    const s = fakeStart();
    const started = runStartSequence(s.parts, () => undefined, () => s.order.push('address said'));
    await tick();
    s.partListens.resolve();
    await tick();
    expect(s.order).toEqual(['part starting', 'sockets listen', 'host ready', 'address said']);
    // The shell connects at once and asks: no answer yet, none made of cages not yet asked to start.
    let answer: { cages: string } | null = null;
    void s.handlers['session.describe']!().then((a) => (answer = a));
    await tick();
    expect(answer).toBeNull();
    s.mounts.resolve();
    await tick();
    expect(answer).toBeNull();
    s.card.resolve();
    await started;
    expect(answer).toEqual({ cages: 'starting' });
    expect(s.order).toEqual(['part starting', 'sockets listen', 'host ready', 'address said', 'USB set up', 'card set up', 'cages starting', 'device watcher']);
  });

  it('starts the cages once USB and the card are set up, beside the browser part\'s start, not after it', async () => {
    const s = fakeStart();
    const started = runStartSequence(s.parts, () => undefined, () => s.order.push('address said'));
    s.mounts.resolve();
    s.card.resolve();
    await tick();
    expect(s.order).toEqual(['part starting', 'sockets listen', 'USB set up', 'card set up', 'cages starting']);
    // Once open, a call goes straight through.
    expect(await s.handlers['session.describe']!()).toEqual({ cages: 'starting' });
    s.partListens.resolve();
    await started;
    expect(s.order.slice(5)).toEqual(['host ready', 'address said', 'device watcher']);
  });

  it('a browser part that fails says no address and fails the start, once the cages it ran beside have started', async () => {
    const s = fakeStart();
    const said = vi.fn();
    const started = runStartSequence(s.parts, () => undefined, said);
    s.partListens.reject(new Error('the browser part did not start'));
    await tick();
    expect(s.order).toEqual(['part starting', 'sockets listen']);
    s.mounts.resolve();
    s.card.resolve();
    await expect(started).rejects.toThrow('the browser part did not start');
    expect(said).not.toHaveBeenCalled();
    expect(s.order).toContain('cages starting');
    // Nothing is held: the calls answer as the supervisor stops.
    expect(await s.handlers['session.describe']!()).toEqual({ cages: 'starting' });
  });

  it('USB that cannot be set up still lets the start go on, keys off (no device watcher), as before', async () => {
    const s = fakeStart();
    const log = vi.fn();
    (s.parts.options as { log?: unknown }).log = log;
    const started = runStartSequence(s.parts, () => undefined, () => s.order.push('address said'));
    s.partListens.resolve();
    s.mounts.reject(new Error('no mount for you'));
    s.card.resolve();
    await started;
    expect(log).toHaveBeenCalledWith('USB devices unavailable: cannot prepare the media mounts', { error: 'no mount for you' });
    expect(s.order).toContain('cages starting');
    expect(s.order).not.toContain('device watcher');
  });

  it('a stop asked during the set-up starts no cage and holds no call', async () => {
    const s = fakeStart();
    let stopAsked = false;
    const started = runStartSequence(s.parts, () => {
      if (stopAsked) throw new Error('stopped while starting');
    });
    s.partListens.resolve();
    await tick();
    stopAsked = true;
    s.mounts.resolve();
    s.card.resolve();
    await expect(started).rejects.toThrow('stopped while starting');
    expect(s.order).not.toContain('cages starting');
    expect(await s.handlers['session.describe']!()).toEqual({ cages: 'stopped' });
  });
});
