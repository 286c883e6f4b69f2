import { describe, expect, it } from 'vitest';
import { createViewerWatch, VIEWER_SILENT_MS } from './viewerWatch';

describe('viewer watch', () => {
  it('takes a viewer silent for longer than the limit as stopped, one that answers as running', () => {
    let t = 0;
    const watch = createViewerWatch(() => t, () => true);
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
    shown = false;
    t = 10 * VIEWER_SILENT_MS;
    expect(watch.stopped()).toBe(false);
    shown = true;
    expect(watch.stopped()).toBe(false);
    t += VIEWER_SILENT_MS + 1;
    expect(watch.stopped()).toBe(true);
  });
});
