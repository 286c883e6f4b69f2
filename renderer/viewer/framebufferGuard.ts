/**
 * Refuses a cage framebuffer larger than any policy allows, before noVNC allocates a canvas for
 * it: an enormous desktop size announced by a hostile cage must not exhaust the shell's memory.
 * The viewer is disconnected at once and the frame says why; the band and the other cages carry on.
 *
 * noVNC 1.7 has no public hook for this: we wrap its internal _resize (the one place every size
 * change — ServerInit, DesktopSize, ExtendedDesktopSize — goes through). Pinned to 1.7 in package.json.
 */
import type RFB from '@novnc/novnc';
import { MAX_GEOMETRY_SIDE } from '../../shared/geometryLimits';

export const MAX_FRAMEBUFFER_PIXELS = MAX_GEOMETRY_SIDE * 5120;

export function guardFramebufferSize(rfb: RFB, onRefused: (width: number, height: number) => void): void {
  const internals = rfb as unknown as { _resize?: (w: number, h: number) => void };
  const original = internals._resize?.bind(rfb);
  if (!original) throw new Error('noVNC without _resize: framebuffer guard cannot be installed');
  internals._resize = (width: number, height: number) => {
    if (width < 1 || height < 1 || width > MAX_GEOMETRY_SIDE || height > MAX_GEOMETRY_SIDE || width * height > MAX_FRAMEBUFFER_PIXELS) {
      onRefused(width, height);
      // At once, and nothing after it: noVNC would otherwise go on decoding the rest of what was
      // read with it (a storm queued while the viewer was hidden: dozens of resizes more) before
      // a deferred disconnect. The throw unwinds noVNC's message loop; the channel, closed here,
      // reads nothing more.
      rfb.disconnect();
      throw new FramebufferRefused(width, height);
    }
    original(width, height);
  };
}

/** A cage announced a framebuffer no policy allows: its connection ends here. */
export class FramebufferRefused extends Error {
  constructor(width: number, height: number) {
    super(`framebuffer ${width}x${height} refused`);
  }
}
