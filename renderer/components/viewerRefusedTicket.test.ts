// @vitest-environment jsdom
/**
 * A refused ticket (issue #26, shellgaps-13): the real CageViewer in jsdom, its frame answering as a
 * viewer page does (ready, pongs), the supervisor's `vnc.ticket` refusing (the cage stopped or
 * restarting while the shell still says running, the supervisor says no). It used to ask again every
 * RECONNECT_DELAY_MS (1 s) for as long as it lasted: an RPC each second per viewer, for hours if a
 * level stays down. It now waits as an unreachable viewer does (viewerRetry.ts: a second, then the
 * stopped viewer's back-off), and when the supervisor says the level runs again the ticket is asked
 * at once, the count started again.
 */
import { act, createElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RpcMethod } from '../../shared/rpc';
import { createShellStore } from '../store/shellStore';
import { ShellContext, type ShellContextValue } from '../shellContext';
import { RpcCallError, type ShellApi } from '../transport/shellApi';
import { CageViewer } from './CageViewer';
import { createStageKeyboard } from './stageKeyboard';

const ORIGIN = 'http://low.viewer.shellgaps13.test';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

class NoResizeObserver {
  observe(): void {}
  disconnect(): void {}
}

interface Harness {
  /** When each `vnc.ticket` was asked (fake clock, ms since the viewer was shown). */
  asked: number[];
  /** When a ticket was granted and handed to the frame ('open'). */
  opened: number[];
  refuse: boolean;
  store: ReturnType<typeof createShellStore>;
  /** Lets fake time pass, the frame answering each ping as a live viewer page does. */
  pass(ms: number): Promise<void>;
  root: Root;
}

async function showViewer(): Promise<Harness> {
  const started = Date.now();
  const h = { asked: [] as number[], opened: [] as number[], refuse: true } as Harness;
  const api: ShellApi = {
    call: ((method: RpcMethod) => {
      if (method !== 'vnc.ticket') return Promise.resolve({});
      h.asked.push(Date.now() - started);
      if (h.refuse) return Promise.reject(new RpcCallError('CAGE_UNAVAILABLE', 'cage "low" is stopped'));
      return Promise.resolve({ ticket: 'ticket-shellgaps13', path: '/vnc', expiresInMs: 30_000 });
    }) as ShellApi['call'],
    on: () => () => undefined,
    vncUrl: (path, level, ticket) => `ws://gateway.shellgaps13.test${path}?level=${level}&ticket=${ticket}`,
    viewerOrigin: () => ORIGIN,
    onDisconnect: () => undefined,
  };
  const store = createShellStore('en');
  store.getState().initialise({
    levels: [{ id: 'low', rank: 0, label: { fr: 'Bas', en: 'Low' }, colour: '#2e7d32', textColour: '#ffffff', hostNetwork: false }],
    cages: [{ level: 'low', status: 'running', restarts: 0 }],
    focus: 'low',
    switchShortcut: 'Ctrl+Alt+Tab',
    copyOutShortcut: 'Ctrl+Alt+C',
    pasteInShortcut: 'Ctrl+Alt+V',
    secureAttentionKey: 'Ctrl+Pause',
    trust: null,
    lock: { locked: false, idleSeconds: 0 } as never,
  });
  h.store = store;
  const context: ShellContextValue = { store, api, switchTo: () => undefined, clipboard: { copyOut: () => undefined, pasteIn: () => undefined } };
  const div = document.createElement('div');
  document.body.append(div);
  h.root = createRoot(div);
  const keyboard = createStageKeyboard<never>();
  await act(async () => {
    h.root.render(createElement(ShellContext.Provider, { value: context }, createElement(CageViewer, { level: 'low', front: true, place: 'front' as never, onViewerState: () => undefined, onBell: () => undefined, keyboard: keyboard as never, focusGuard: null })));
  });
  /** The frame's page, as a viewer page speaks: from its own origin and window. */
  let readyIn: HTMLIFrameElement | null = null;
  const say = (data: unknown) => {
    const frame = div.querySelector('iframe');
    if (!frame?.contentWindow) return;
    if (frame !== readyIn) {
      readyIn = frame;
      const post = frame.contentWindow.postMessage.bind(frame.contentWindow);
      frame.contentWindow.postMessage = ((message: { type?: string }, ...rest: unknown[]) => {
        if (message?.type === 'open') h.opened.push(Date.now() - started);
        return (post as (...a: unknown[]) => void)(message, ...rest);
      }) as typeof frame.contentWindow.postMessage;
      window.dispatchEvent(new MessageEvent('message', { origin: ORIGIN, source: frame.contentWindow, data: { type: 'ready' } }));
    }
    window.dispatchEvent(new MessageEvent('message', { origin: ORIGIN, source: frame.contentWindow, data }));
  };
  h.pass = async (ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      await act(async () => {
        say({ type: 'pong' });
        await vi.advanceTimersByTimeAsync(100);
      });
    }
  };
  await h.pass(100);
  return h;
}

describe('a viewer whose ticket the supervisor refuses', () => {
  let h: Harness | null = null;
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-12-07T18:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    (globalThis as { ResizeObserver?: unknown }).ResizeObserver = NoResizeObserver;
  });
  afterEach(async () => {
    await act(async () => h?.root.unmount());
    h = null;
    document.body.replaceChildren();
    vi.useRealTimers();
  });

  it('asks again with the back-off, not every second: a handful of asks in 30 s', async () => {
    h = await showViewer();
    await h.pass(30_000);
    console.log(`refused ticket: ${h.asked.length} asks of vnc.ticket in 30 s (at ${h.asked.map((t) => (t / 1000).toFixed(1)).join(', ')} s)`);
    expect(h.asked.length, 'asked again, not given up').toBeGreaterThan(2);
    expect(h.asked.length, 'a handful in 30 s, not one a second').toBeLessThanOrEqual(7);
    expect(h.opened).toEqual([]);
  });

  it('the level running again (the supervisor says so): the ticket is asked and handed over at once, and the back-off starts again', async () => {
    h = await showViewer();
    await h.pass(30_000);
    // The supervisor's statuses: the cage stopped, then running again (restarted).
    await act(async () => h!.store.getState().setCage({ level: 'low', status: 'stopped', restarts: 0 }));
    await h.pass(500);
    h.refuse = false;
    const back = h.asked.length;
    const runningAt = 30_600;
    await act(async () => h!.store.getState().setCage({ level: 'low', status: 'running', restarts: 1 }));
    await h.pass(1000);
    const first = h.asked[back]! - runningAt;
    console.log(`level back: ticket asked ${first} ms and handed over ${h.opened[0]! - runningAt} ms after the running status (fake clock, 100 ms steps); ${h.asked.length - back} asks, ${h.opened.length} handed over in the next second`);
    expect(first, 'asked at once').toBeLessThan(200);
    expect(h.opened[0]! - runningAt, 'handed over at once').toBeLessThan(200);
    expect(h.opened.length, 'its ticket handed to the frame once (no wait left over from the refusals asks again)').toBe(1);
  });

  it('refused again after the level came back: its first ask again after a second (the count started again)', async () => {
    h = await showViewer();
    await h.pass(30_000);
    await act(async () => h!.store.getState().setCage({ level: 'low', status: 'stopped', restarts: 0 }));
    await h.pass(500);
    const back = h.asked.length;
    await act(async () => h!.store.getState().setCage({ level: 'low', status: 'running', restarts: 1 }));
    await h.pass(1600);
    expect(h.asked.length - back, 'asked as the level runs, and again a second after its refusal').toBe(2);
  });
});
