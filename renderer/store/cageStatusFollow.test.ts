/**
 * A cage status sent while the page waits for its session's description and the three calls beside
 * it is applied over the description, not lost (cageStatusFollow.ts; issue #26: low stayed
 * "starting" in the shell, its viewer never asked its ticket).
 */
import { describe, expect, it } from 'vitest';
import type { CageState, LevelView } from '../../shared/rpc';
import { followCageStatuses } from './cageStatusFollow';
import { createShellStore } from './shellStore';

const level = (id: string, rank: number): LevelView => ({ id, rank, label: { fr: id, en: id }, colour: '#000000', textColour: '#ffffff', hostNetwork: false });
const cage = (lvl: string, status: CageState['status']): CageState => ({ level: lvl, status, restarts: 0 });

/** A transport whose onCageStatus events the test sends. */
function fakeApi() {
  const listeners: Array<(s: CageState) => void> = [];
  const on = (_event: string, l: (s: CageState) => void) => (listeners.push(l), () => undefined);
  return { on, api: { on } as never, send: (s: CageState) => listeners.forEach((l) => l(s)) };
}

function initialise(store: ReturnType<typeof createShellStore>, cages: CageState[]) {
  store.getState().initialise({ levels: [level('low', 0), level('high', 1)], cages, focus: 'low', switchShortcut: 'Ctrl+Alt+PageDown', copyOutShortcut: 'x', pasteInShortcut: 'y', secureAttentionKey: 'Pause', trust: null, lock: { locked: false } as never });
}

describe('cage statuses around the session description', () => {
  it('the earlier wiring (each status straight to the store) loses one sent between the description and the store filled', () => {
    const api = fakeApi();
    const store = createShellStore('fr');
    api.on('onCageStatus', (s) => store.getState().setCage(s));
    // The description says both starting; low turns running while the three other calls are answered.
    api.send(cage('low', 'running'));
    initialise(store, [cage('low', 'starting'), cage('high', 'starting')]);
    expect(store.getState().cages.low?.status).toBe('starting');
  });

  it('followed: one sent after the description is applied over it, in order; one sent before it is in it already', () => {
    const api = fakeApi();
    const store = createShellStore('fr');
    const follow = followCageStatuses(api.api, (s) => store.getState().setCage(s));
    api.send(cage('high', 'crashed')); // before the description's answer: superseded by it
    follow.described();
    api.send(cage('low', 'starting'));
    api.send(cage('low', 'running'));
    expect(store.getState().cages.low).toBeUndefined(); // nothing applied before the store holds the description
    initialise(store, [cage('low', 'starting'), cage('high', 'starting')]);
    follow.initialised();
    expect(store.getState().cages.low?.status).toBe('running');
    expect(store.getState().cages.high?.status).toBe('starting');
    api.send(cage('high', 'running'));
    expect(store.getState().cages.high?.status).toBe('running');
  });
});
