/**
 * Lets noVNC read the next framebuffer update while the last one's JPEG rectangles are still
 * decoding. noVNC 1.7 reads no update while its render queue holds anything (rfb.js,
 * _framebufferUpdate: `display.pending()` → `flush()`): with the browser's asynchronous decoder
 * (jpegInMemory.ts) every update carrying a JPEG held the next one's reading, and the answers to the
 * server's fences, for a decode's round trip, and a scrolling page lost most of its frames
 * (bench/RESULTS.md, Firefox scroll, ffscroll-4). Here `pending()` says whether the queue holds more
 * than a read-ahead's worth of pixels (renderQueueBound.ts counts them as they are queued and drawn);
 * the queue still draws in order, and past that noVNC waits for it to empty, as before.
 *
 * A TigerVNC update tiles what changed: at most a screen. Reading ahead by half a screen keeps what
 * an honest cage makes the queue hold (half a screen, then one more update) below the bound of two
 * screens at which renderQueueBound.ts refuses the connection. Wraps noVNC 1.7's Display.pending
 * (pinned in package.json).
 */
import type RFB from '@novnc/novnc';
import { renderQueueHoldOf } from './renderQueueBound';

/** Half a screen of the bound's two, in bytes. */
const READ_AHEAD_OF_BOUND = 1 / 4;

interface PendingDisplay {
  _renderQ: unknown[];
  pending(): boolean;
}

export function readAheadWhileDecoding(rfb: RFB): void {
  const display = (rfb as unknown as { _display?: PendingDisplay })._display;
  if (typeof display?.pending !== 'function' || !Array.isArray(display._renderQ))
    throw new Error("noVNC's display is not 1.7's: it cannot read ahead of its render queue");
  // Never without the bound: it is what the read-ahead is measured in, and what stops it.
  const hold = renderQueueHoldOf(display);
  if (!hold) throw new Error('the render queue is not bounded (renderQueueBound.ts): no read-ahead without it');
  display.pending = () => display._renderQ.length !== 0 && hold.held() > READ_AHEAD_OF_BOUND * hold.bound();
}
