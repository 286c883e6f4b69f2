/**
 * Ends a connection whose render queue waits for an image or a video frame that never comes: noVNC
 * 1.7 draws an image when it fires `load`, which bytes that are no image never do (they fire
 * `error`, which noVNC ignores); an image of other sides than its rectangle, or an H.264 frame its
 * decoder drops, stops the queue for good too. Until then the connection holds what waits behind
 * it (renderQueueBound.ts bounds that) and asks for no further update: the cage's screen freezes.
 * The viewer disconnects and says why — at an image's `error` at once, otherwise when the queue's
 * head has not moved for STALL_MS.
 *
 * Wraps noVNC 1.7's Display._renderQPush (pinned in package.json); only images and frames, never
 * on the path that draws at once.
 */
import type RFB from '@novnc/novnc';

/** A screen's JPEG decodes in milliseconds: ten seconds without one drawn is no slow machine. */
export const STALL_MS = 10_000;

interface QueuedDrawing {
  type: string;
  img?: { addEventListener(type: 'error', listener: () => void): void };
}
interface QueuingDisplay {
  _renderQ: unknown[];
  _renderQPush(action: QueuedDrawing): void;
}

export function refuseStalledImages(rfb: RFB, onRefused: (reason: string) => void): void {
  const display = (rfb as unknown as { _display?: QueuingDisplay })._display;
  if (typeof display?._renderQPush !== 'function' || !Array.isArray(display._renderQ))
    throw new Error("noVNC's render queue is not 1.7's: its stalls cannot be refused");
  const push = display._renderQPush.bind(display);
  let ended = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let head: unknown = null;

  const refuse = (reason: string) => {
    if (ended) return; // a connection already gone, or replaced: nothing to say about it
    ended = true;
    onRefused(reason);
    rfb.disconnect();
  };
  const watch = () => {
    timer = null;
    if (ended || display._renderQ.length === 0) return;
    if (display._renderQ[0] === head) return refuse(`an image or video frame not decoded in ${STALL_MS / 1000} s`);
    head = display._renderQ[0];
    timer = setTimeout(watch, STALL_MS);
  };
  rfb.addEventListener('disconnect', () => {
    ended = true;
    if (timer !== null) clearTimeout(timer);
  });

  display._renderQPush = (action) => {
    push(action);
    if (action.type !== 'img' && action.type !== 'frame') return;
    // noVNC empties an image's src once drawn, which fires `error` too: only one still queued counts.
    action.img?.addEventListener('error', () => {
      if (display._renderQ.includes(action)) refuse('an image rectangle the browser cannot decode');
    });
    if (timer === null && display._renderQ.length !== 0) {
      head = display._renderQ[0];
      timer = setTimeout(watch, STALL_MS);
    }
  };
}
