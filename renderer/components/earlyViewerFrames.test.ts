// @vitest-environment jsdom
/**
 * The viewer frames made as the shell page starts (earlyViewerFrames.ts): only for the viewer
 * origins the page's own policy names, each claimed once and only by the origin it loads from,
 * never sent anything while unclaimed, and the unclaimed ones removed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEarlyViewerFrames, viewerOriginsFromCsp } from './earlyViewerFrames';

const SHELL = 'http://127.0.0.1:4100';
const LOW = 'http://127.0.0.10:4100';
const HIGH = 'http://127.0.0.11:4100';
const CSP = `default-src 'self'; script-src 'self'; connect-src 'self' ws://127.0.0.1:4100; frame-src ${LOW} ${HIGH}; object-src 'none'`;

const settle = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => {
  document.body.innerHTML = '';
});

describe('the viewer origins a page may frame', () => {
  it('are the loopback http origins of its frame-src, never its own, a wildcard, a scheme or another directive', () => {
    expect(viewerOriginsFromCsp(CSP, SHELL)).toEqual([LOW, HIGH]);
    expect(viewerOriginsFromCsp(`frame-src ${SHELL} * http: 'self' https://evil.example:443 http://127.0.0.12:1 http://127.0.0.12:1/x; img-src ${HIGH}`, SHELL)).toEqual(['http://127.0.0.12:1']);
    expect(viewerOriginsFromCsp("default-src 'self'", SHELL)).toEqual([]);
    expect(viewerOriginsFromCsp("frame-src 'none'", SHELL)).toEqual([]);
  });
});

describe('the early viewer frames', () => {
  it('are made hidden, one per origin, with the viewer frame attributes, and sent nothing while unclaimed', async () => {
    const sent = vi.spyOn(window, 'postMessage');
    const early = createEarlyViewerFrames(window, Promise.resolve([LOW, HIGH]));
    await settle();
    const frames = [...document.querySelectorAll<HTMLIFrameElement>('.early-viewers iframe')];
    expect(frames.map((f) => new URL(f.src).origin)).toEqual([LOW, HIGH]);
    for (const f of frames) {
      expect(f.getAttribute('sandbox')).toBe('allow-scripts allow-same-origin');
      expect(f.getAttribute('allow')).toBe("focus-without-user-activation 'none'");
      expect(f.tabIndex).toBe(-1);
      expect(new URL(f.src).searchParams.get('shell')).toBe(window.location.origin);
      // No level named anywhere in the frame or its address.
      expect(f.title).toBe('');
      expect(f.dataset.testid).toBeUndefined();
      for (const w of [f.contentWindow]) if (w) vi.spyOn(w, 'postMessage');
    }
    expect(document.querySelector('.early-viewers')!.getAttribute('aria-hidden')).toBe('true');
    expect(early.has(LOW) && early.has(HIGH)).toBe(true);
    for (const f of frames) if (f.contentWindow) expect(f.contentWindow.postMessage).not.toHaveBeenCalled();
    expect(sent).not.toHaveBeenCalled();
  });

  it('gives each origin its own frame, once; an origin the policy does not name gets none', async () => {
    const early = createEarlyViewerFrames(window, Promise.resolve([LOW, HIGH]));
    await settle();
    expect(early.claim('http://127.0.0.12:4100')).toBeNull();
    const low = early.claim(LOW)!;
    expect(new URL(low.frame.src).origin).toBe(LOW);
    expect(early.claim(LOW)).toBeNull();
    expect(early.has(LOW)).toBe(false);
    const high = early.claim(HIGH)!;
    expect(new URL(high.frame.src).origin).toBe(HIGH);
    expect(high.frame).not.toBe(low.frame);
  });

  it('counts a ready only from the frame itself at its own origin', async () => {
    const early = createEarlyViewerFrames(window, Promise.resolve([LOW, HIGH]));
    await settle();
    const [low, high] = [...document.querySelectorAll<HTMLIFrameElement>('.early-viewers iframe')];
    // From another origin, from another window (high's frame), or not a ready: not low's ready.
    window.dispatchEvent(new MessageEvent('message', { data: { type: 'ready' }, origin: HIGH, source: low!.contentWindow }));
    window.dispatchEvent(new MessageEvent('message', { data: { type: 'ready' }, origin: LOW, source: high!.contentWindow }));
    window.dispatchEvent(new MessageEvent('message', { data: { type: 'ready', extra: 1 }, origin: LOW, source: low!.contentWindow }));
    expect(early.claim(LOW)!.ready).toBe(false);
    window.dispatchEvent(new MessageEvent('message', { data: { type: 'ready' }, origin: HIGH, source: high!.contentWindow }));
    expect(early.claim(HIGH)!.ready).toBe(true);
  });

  it('removes the frames no level claimed, and the pool, and makes none for origins known later', async () => {
    const early = createEarlyViewerFrames(window, Promise.resolve([LOW, HIGH]));
    await settle();
    const low = early.claim(LOW)!;
    document.body.appendChild(low.frame); // its viewer moved it out
    early.dropUnclaimed();
    expect(document.querySelector('.early-viewers')).toBeNull();
    expect([...document.querySelectorAll('iframe')]).toEqual([low.frame]);
    expect(early.claim(HIGH)).toBeNull();

    let give: (o: string[]) => void = () => undefined;
    const late = createEarlyViewerFrames(window, new Promise((r) => (give = r)));
    late.dropUnclaimed();
    give([LOW, HIGH]);
    await settle();
    expect(document.querySelector('.early-viewers')).toBeNull();
    expect(late.has(LOW)).toBe(false);
  });
});
