/**
 * A render queue stopped behind an image or a video frame that never comes (renderQueueStall.ts):
 * bytes that are no image end the connection at their `error`; an entry at the queue's head that
 * has not moved for STALL_MS ends it too; a queue that moves, an image noVNC already drew (its src
 * emptied fires `error`), or a connection already gone, end nothing.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type RFB from '@novnc/novnc';
import { refuseStalledImages, STALL_MS } from './renderQueueStall';

/** An Image whose `error` the test fires. */
class TestImage {
  private readonly errorListeners: (() => void)[] = [];
  addEventListener(type: string, listener: () => void): void {
    if (type === 'error') this.errorListeners.push(listener);
  }
  fail(): void {
    this.errorListeners.forEach((l) => l());
  }
}

function connection() {
  const calls: string[] = [];
  const display = {
    _renderQ: [] as unknown[],
    _renderQPush(action: unknown) {
      this._renderQ.push(action);
    },
  };
  const disconnectListeners: (() => void)[] = [];
  const rfb = {
    _display: display,
    addEventListener: (_type: string, listener: () => void) => disconnectListeners.push(listener),
    disconnect: () => {
      calls.push('disconnect');
      disconnectListeners.forEach((l) => l());
    },
  };
  refuseStalledImages(rfb as unknown as RFB, (reason) => calls.push(`refused: ${reason}`));
  return { display, calls, rfb };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('a render queue stopped behind an image', () => {
  it('ends the connection at once when the image is no image', () => {
    const { display, calls } = connection();
    const img = new TestImage();
    display._renderQPush({ type: 'img', img });
    display._renderQPush({ type: 'blit' });
    img.fail();
    expect(calls).toEqual(['refused: an image rectangle the browser cannot decode', 'disconnect']);
    vi.advanceTimersByTime(3 * STALL_MS);
    expect(calls).toHaveLength(2); // said once
  });

  it('ends it when the head has not moved for STALL_MS (an image of the wrong size, a frame never ready)', () => {
    const { display, calls } = connection();
    display._renderQPush({ type: 'frame' });
    vi.advanceTimersByTime(STALL_MS - 1);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual([`refused: an image or video frame not decoded in ${STALL_MS / 1000} s`, 'disconnect']);
  });

  it('ends nothing for a queue that moves, an image already drawn, or a connection gone', () => {
    const { display, calls, rfb } = connection();
    const drawn = new TestImage();
    display._renderQPush({ type: 'img', img: drawn });
    vi.advanceTimersByTime(STALL_MS - 1);
    display._renderQ.shift(); // drawn: noVNC empties its src, which fires error
    drawn.fail();
    display._renderQPush({ type: 'img', img: new TestImage() });
    vi.advanceTimersByTime(STALL_MS); // a new head
    display._renderQ.length = 0;
    vi.advanceTimersByTime(3 * STALL_MS);
    expect(calls).toEqual([]);
    display._renderQPush({ type: 'frame' });
    rfb.disconnect(); // ended elsewhere (replaced by a newer connection)
    vi.advanceTimersByTime(3 * STALL_MS);
    expect(calls).toEqual(['disconnect']);
  });
});
