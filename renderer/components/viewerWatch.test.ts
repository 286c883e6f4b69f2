import { describe, expect, it } from 'vitest';
import { createViewerWatch, VIEWER_LOAD_MS, VIEWER_SILENT_MS } from './viewerWatch';

describe('viewer watch', () => {
  it('takes a viewer silent for longer than the limit as stopped, one that answers as running', () => {
    let t = 0;
    const watch = createViewerWatch(() => t, () => true);
    watch.heard();
    t = VIEWER_SILENT_MS - 1;
    expect(watch.stopped()).toBe(false);
    watch.heard();
    t += VIEWER_SILENT_MS;
    expect(watch.stopped()).toBe(false);
    t += 2;
    expect(watch.stopped()).toBe(true);
  });

  it('does not count the time the page was hidden (throttled timers)', () => {
    let t = 0;
    let shown = true;
    const watch = createViewerWatch(() => t, () => shown);
    watch.heard();
    shown = false;
    t = 10 * VIEWER_SILENT_MS;
    expect(watch.stopped()).toBe(false);
    shown = true;
    expect(watch.stopped()).toBe(false);
    t += VIEWER_SILENT_MS + 1;
    expect(watch.stopped()).toBe(true);
  });

  it('does not take a frame still loading its page on a busy machine as stopped: it has said nothing yet', () => {
    let t = 0;
    const watch = createViewerWatch(() => t, () => true);
    // The first frame, then one made again (a reload): both still loading past the silent limit.
    t = 3 * VIEWER_SILENT_MS;
    expect(watch.stopped()).toBe(false);
    watch.heard();
    watch.loading();
    t += 3 * VIEWER_SILENT_MS;
    expect(watch.stopped()).toBe(false);
    // Its page said ready late: from then on, the silent limit.
    watch.heard();
    t += VIEWER_SILENT_MS + 1;
    expect(watch.stopped()).toBe(true);
  });

  it('still replaces a frame whose renderer died while loading, or that loaded and never spoke', () => {
    let t = 0;
    const watch = createViewerWatch(() => t, () => true);
    t = VIEWER_LOAD_MS + 1;
    expect(watch.stopped(), 'never loaded').toBe(true);
    watch.loading();
    t += 1000;
    watch.loaded();
    t += VIEWER_SILENT_MS + 1;
    expect(watch.stopped(), 'loaded, its script silent').toBe(true);
  });
});
