/**
 * The bound on what waits in noVNC's render queue (renderQueueBound.ts): a cage's update that queues
 * more than about two screens behind an image is refused, and said; a well-behaved one — an image,
 * then a screen's worth of rectangles, update after update as the queue empties — never is.
 */
import { describe, expect, it } from 'vitest';
import { boundRenderQueue } from './renderQueueBound';
import { RectangleRefused } from './rectangleGuard';

function display(width: number, height: number) {
  const reasons: string[] = [];
  const shown = {
    _renderQ: [] as unknown[],
    _fbWidth: width,
    _fbHeight: height,
    _renderQPush(action: unknown) {
      this._renderQ.push(action);
    },
  };
  boundRenderQueue(shown, (reason) => reasons.push(reason));
  return { shown, reasons };
}
const image = (width: number, height: number) => ({ type: 'img', img: { src: 'data: image/jpeg;base64,AAAA' }, width, height });
const blit = (width: number, height: number) => ({ type: 'blit', data: new Uint8Array(width * height * 4), width, height });

describe('the render queue bound', () => {
  it('lets an update through that queues a screen behind its images, update after update', () => {
    const { shown, reasons } = display(1920, 1080);
    for (let update = 0; update < 50; update++) {
      shown._renderQPush(image(64, 64));
      for (let row = 0; row < 1080; row += 64) shown._renderQPush(blit(1920, Math.min(64, 1080 - row)));
      shown._renderQPush({ type: 'fill' });
      shown._renderQPush({ type: 'flip' });
      shown._renderQ.length = 0; // the image loaded: noVNC drew it all, then asks for the next update
    }
    expect(reasons).toEqual([]);
  });

  it('refuses the rectangle that takes it past two screens, and says why; a flip is never refused', () => {
    const { shown, reasons } = display(1920, 1080);
    shown._renderQPush(image(16, 16));
    shown._renderQPush(blit(1920, 1080));
    shown._renderQPush(blit(1920, 1000));
    expect(() => shown._renderQPush(blit(1920, 100))).toThrow(RectangleRefused);
    expect(reasons).toEqual(['16.0 MiB of drawings waiting behind an image still decoding (bound 15.8 MiB)']);
    expect(shown._renderQ).toHaveLength(3); // not queued
    expect(() => shown._renderQPush({ type: 'flip' })).not.toThrow();
  });

  it('counts the entries themselves: a flood of small fills is refused too', () => {
    const { shown, reasons } = display(800, 600);
    shown._renderQPush(image(16, 16));
    expect(() => {
      for (let i = 0; i < 1_000_000; i++) shown._renderQPush({ type: 'fill' });
    }).toThrow(RectangleRefused);
    expect(shown._renderQ.length).toBeLessThan(70_000);
    expect(reasons).toHaveLength(1);
  });
});
