/**
 * A viewer hidden for a while holds no pixels in its visible canvas: its backing store (the cage's
 * screen, four bytes a pixel, in the viewer's renderer, and the compositor's copy of it shared with
 * the GPU process) is given up RELEASE_AFTER_MS after the viewer is hidden, and drawn again whole
 * from the memory framebuffer (memoryFramebuffer.ts, which keeps every pixel) as it is shown,
 * before the frame that reveals it: the switch shows what the viewer had, as before
 * (pacedChannel.ts). Not at once: a canvas made again and drawn whole at every switch lengthened
 * the switch's tail under load (bench/RESULTS.md, level-switch); switching back and forth keeps it.
 *
 * A hidden viewer reads nothing once connected, so nothing is drawn meanwhile; a resize noVNC
 * makes while it is hidden (its first ServerInit) sizes the canvas, which is emptied again.
 *
 * noVNC 1.7 has no public hook for this: we read its display's canvas and viewport and wrap its
 * viewportChangeSize, as drawInMemory.ts replaces its drawing. Pinned to 1.7 in package.json.
 */
import type RFB from '@novnc/novnc';
import type { ViewerPlace } from '../../shared/viewerProtocol';
import type { MemoryFramebuffer } from './memoryFramebuffer';

/** The parts of noVNC 1.7's Display read or wrapped here. */
interface NoVncDisplay {
  _target: { width: number; height: number };
  _targetCtx: Pick<CanvasRenderingContext2D, 'putImageData'>;
  _viewportLoc: { x: number; y: number; w: number; h: number };
  viewportChangeSize(width?: number, height?: number): void;
}

/** How long a viewer stays hidden before its canvas is emptied. */
export const RELEASE_AFTER_MS = 5000;

export interface HiddenCanvas {
  /** The trusted page moved the viewer: hidden, the canvas is emptied; shown, drawn again. */
  setPlace(place: ViewerPlace): void;
}

export function releaseCanvasWhileHidden(rfb: RFB, fb: MemoryFramebuffer, place: ViewerPlace, after = RELEASE_AFTER_MS): HiddenCanvas {
  const display = (rfb as unknown as { _display?: NoVncDisplay })._display;
  if (!display?._target || !display._targetCtx || !display._viewportLoc || typeof display.viewportChangeSize !== 'function')
    throw new Error("noVNC's display is not 1.7's: its canvas cannot be emptied while hidden");
  const canvas = display._target;
  /** Emptied (hidden for `after` ms): kept empty through noVNC's resizes until shown. */
  let hidden = false;
  let release: ReturnType<typeof setTimeout> | null = null;
  const empty = () => {
    // Setting a size gives up the backing store even when it is the same; 0×0 keeps none.
    if (canvas.width !== 0 || canvas.height !== 0) {
      canvas.width = 0;
      canvas.height = 0;
    }
  };
  const changeSize = display.viewportChangeSize.bind(display);
  display.viewportChangeSize = (width, height) => {
    changeSize(width, height);
    if (hidden) empty();
  };
  const setPlace = (next: ViewerPlace) => {
    if (next === 'hidden') {
      release ??= setTimeout(() => {
        release = null;
        hidden = true;
        empty();
      }, after);
      return;
    }
    if (release !== null) clearTimeout(release);
    release = null;
    if (!hidden) return;
    hidden = false;
    const vp = display._viewportLoc;
    if (vp.w <= 0 || vp.h <= 0) return; // no screen yet: noVNC sizes the canvas at ServerInit
    canvas.width = vp.w;
    canvas.height = vp.h;
    if (fb.width > 0 && fb.height > 0) display._targetCtx.putImageData(fb.imageData, 0 - vp.x, 0 - vp.y, vp.x, vp.y, Math.min(vp.w, fb.width - vp.x), Math.min(vp.h, fb.height - vp.y));
  };
  setPlace(place);
  return { setPlace };
}
