/**
 * noVNC's display drawing into a MemoryFramebuffer (memoryFramebuffer.ts) instead of its hidden
 * canvas: fills, decoded rectangles and copies become typed-array writes, and each flip one
 * putImageData of the changed area onto the visible canvas. Images the browser decodes (JPEG and
 * PNG rectangles, video frames) are drawn on a scratch canvas and read back into memory, in the
 * order noVNC's render queue keeps for them: a viewer that asks for no JPEG (encodingChoice.ts)
 * gets none from a well-behaved cage, and one that sends them unasked is refused (encodingGuard.ts);
 * asked for, they are drawn right, slowly, and what waits behind them is bounded (renderQueueBound.ts).
 *
 * noVNC 1.7 has no public hook for this: we replace methods of its internal display, as
 * framebufferGuard.ts wraps _resize and drawnPixels.ts _damage (whose counting still sees every
 * rectangle drawn). Pinned to 1.7 in package.json.
 */
import type RFB from '@novnc/novnc';
import { MemoryFramebuffer } from './memoryFramebuffer';
import { boundRenderQueue } from './renderQueueBound';

type Colour = ArrayLike<number>;
type Drawable = CanvasImageSource & { width: number | SVGAnimatedLength; height: number | SVGAnimatedLength };

/** The parts of noVNC 1.7's Display replaced or read here. */
interface NoVncDisplay {
  _renderQ: unknown[];
  _renderQPush(action: { type: string }): void;
  _fbWidth: number;
  _fbHeight: number;
  _prevDrawStyle: string;
  _targetCtx: CanvasRenderingContext2D;
  _backbuffer: HTMLCanvasElement;
  _drawCtx: CanvasRenderingContext2D;
  _viewportLoc: { x: number; y: number; w: number; h: number };
  _damageBounds: { left: number; top: number; right: number; bottom: number };
  _damage(x: number, y: number, w: number, h: number): void;
  viewportChangeSize(width?: number, height?: number): void;
  viewportChangePos(deltaX: number, deltaY: number): void;
  fillRect(x: number, y: number, w: number, h: number, colour: Colour, fromQueue?: boolean): void;
  blitImage(x: number, y: number, w: number, h: number, data: Uint8Array, offset: number, fromQueue?: boolean): void;
  copyImage(oldX: number, oldY: number, newX: number, newY: number, w: number, h: number, fromQueue?: boolean): void;
  drawImage(image: Drawable, ...args: number[]): void;
  flip(fromQueue?: boolean): void;
  resize(width: number, height: number): void;
  getImageData(): ImageData;
  toDataURL(type?: string, quality?: unknown): string;
  toBlob(callback: BlobCallback, type?: string, quality?: unknown): void;
}

const methods = ['fillRect', 'blitImage', 'copyImage', 'drawImage', 'flip', 'resize', 'getImageData', 'toDataURL', 'toBlob', 'viewportChangeSize', 'viewportChangePos', '_damage'] as const;

/**
 * `newCanvas` makes the scratch canvas images are read back through (a stand-in in tests);
 * `onRefused` hears why a connection ends when too much waits in noVNC's render queue.
 */
export function drawInMemory(rfb: RFB, newCanvas: () => HTMLCanvasElement = () => document.createElement('canvas'), onRefused: (reason: string) => void = () => undefined): MemoryFramebuffer {
  const display = (rfb as unknown as { _display?: NoVncDisplay })._display;
  if (!display || methods.some((m) => typeof display[m] !== 'function') || !Array.isArray(display._renderQ) || !display._damageBounds || !display._viewportLoc)
    throw new Error("noVNC's display is not 1.7's: it cannot draw in memory");
  const fb = new MemoryFramebuffer();
  const canvasFill = display.fillRect.bind(display);
  const canvasBlit = display.blitImage.bind(display);
  const canvasCopy = display.copyImage.bind(display);
  const canvasFlip = display.flip.bind(display);
  const backbufferDataUrl = display.toDataURL.bind(display);
  const backbufferBlob = display.toBlob.bind(display);
  // What waits in noVNC's render queue behind an image still decoding is queued by its own code
  // (the queue copies the data it keeps), and drawn here when the queue reaches it; no more than
  // about two screens of it (renderQueueBound.ts).
  boundRenderQueue(display, onRefused);
  const queued = (fromQueue?: boolean) => display._renderQ.length !== 0 && !fromQueue;
  let scratch: CanvasRenderingContext2D | null = null;

  display.fillRect = (x, y, w, h, colour, fromQueue) => {
    if (queued(fromQueue)) return canvasFill(x, y, w, h, colour, fromQueue);
    fb.fill(x, y, w, h, colour[0] ?? 0, colour[1] ?? 0, colour[2] ?? 0);
    display._damage(x, y, w, h);
  };
  display.blitImage = (x, y, w, h, data, offset, fromQueue) => {
    if (queued(fromQueue)) return canvasBlit(x, y, w, h, data, offset, fromQueue);
    fb.blit(x, y, w, h, data, offset);
    display._damage(x, y, w, h);
  };
  display.copyImage = (oldX, oldY, newX, newY, w, h, fromQueue) => {
    if (queued(fromQueue)) return canvasCopy(oldX, oldY, newX, newY, w, h, fromQueue);
    fb.copy(oldX, oldY, newX, newY, w, h);
    display._damage(newX, newY, w, h);
  };
  // Only the render queue draws images: (image, x, y) or (image, sx, sy, sw, sh, dx, dy, dw, dh).
  display.drawImage = (image, ...args) => {
    const whole = args.length <= 2;
    const [sx, sy, sw, sh] = whole ? [0, 0, Number(image.width), Number(image.height)] : [args[0]!, args[1]!, args[2]!, args[3]!];
    const [dx, dy, dw, dh] = whole ? [args[0]!, args[1]!, sw, sh] : [args[4]!, args[5]!, args[6]!, args[7]!];
    display._damage(dx, dy, dw, dh);
    // Only what lands on the screen is drawn and read back: a cage's image larger than its screen
    // costs no more scratch canvas than the screen.
    const on = fb.onScreen(dx, dy, dw, dh);
    if (!on || !(sw > 0 && sh > 0)) return;
    const [scaleX, scaleY] = [sw / dw, sh / dh];
    scratch ??= newCanvas().getContext('2d', { willReadFrequently: true });
    if (!scratch) return;
    const canvas = scratch.canvas;
    if (canvas.width < on.width || canvas.height < on.height) {
      canvas.width = Math.max(canvas.width, on.width);
      canvas.height = Math.max(canvas.height, on.height);
    }
    scratch.clearRect(0, 0, on.width, on.height);
    scratch.drawImage(image, sx + (on.x - dx) * scaleX, sy + (on.y - dy) * scaleY, on.width * scaleX, on.height * scaleY, 0, 0, on.width, on.height);
    fb.blit(on.x, on.y, on.width, on.height, scratch.getImageData(0, 0, on.width, on.height).data);
  };
  display.flip = (fromQueue) => {
    if (queued(fromQueue)) return canvasFlip(fromQueue);
    const bounds = display._damageBounds;
    const vp = display._viewportLoc;
    // The changed area, within what the viewport shows (as noVNC's flip clips it).
    const left = Math.max(bounds.left, vp.x);
    const top = Math.max(bounds.top, vp.y);
    const right = Math.min(bounds.right, vp.x + vp.w, fb.width);
    const bottom = Math.min(bounds.bottom, vp.y + vp.h, fb.height);
    if (right > left && bottom > top) display._targetCtx.putImageData(fb.imageData, 0 - vp.x, 0 - vp.y, left, top, right - left, bottom - top);
    bounds.left = bounds.top = 65535;
    bounds.right = bounds.bottom = 0;
  };
  display.resize = (width, height) => {
    display._prevDrawStyle = '';
    display._fbWidth = width;
    display._fbHeight = height;
    fb.resize(width, height);
    const vp = display._viewportLoc;
    display.viewportChangeSize(vp.w, vp.h);
    display.viewportChangePos(0, 0);
  };
  display.getImageData = () => (fb.width > 0 && fb.height > 0 ? new ImageData(fb.pixels.slice(), fb.width, fb.height) : new ImageData(1, 1));
  const toBackbuffer = () => {
    display._backbuffer.width = fb.width;
    display._backbuffer.height = fb.height;
    if (fb.width > 0 && fb.height > 0) display._drawCtx.putImageData(fb.imageData, 0, 0);
  };
  display.toDataURL = (type, quality) => {
    toBackbuffer();
    return backbufferDataUrl(type, quality);
  };
  display.toBlob = (callback, type, quality) => {
    toBackbuffer();
    backbufferBlob(callback, type, quality);
  };
  // The hidden canvas is not drawn on any more: it keeps no screen-sized pixels.
  display._backbuffer.width = 0;
  display._backbuffer.height = 0;
  return fb;
}
