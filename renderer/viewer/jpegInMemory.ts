/**
 * Tight's JPEG rectangles decoded by the browser's image decoder (WebCodecs' ImageDecoder) into
 * RGBA pixels and copied into the viewer's memory framebuffer (drawInMemory.ts). noVNC 1.7 hands
 * each one to an <img> as a base64 data: URL, decoded on the main thread as it is drawn on a canvas,
 * which drawInMemory.ts then reads back: that path cost the viewer twice as much per frame as asking
 * for no JPEG at all (bench/RESULTS.md, Firefox scroll). Here the bytes go to the decoder as they
 * came (no base64, no URL: no CSP change), it decodes off the main thread, and the pixels land in
 * memory with one copy; so the viewer can ask for JPEG as TigerVNC's vncviewer does, which costs
 * the cage's Xvnc far less per frame than zlib on full-colour rectangles.
 *
 * Order is noVNC's: a decoding rectangle waits in its render queue (as its H.264 frames do, the
 * queue's 'frame' entries), and what comes after it is queued behind it. What a cage can make the
 * viewer hold is bounded: every rectangle is within the screen (rectangleGuard.ts, in front of
 * every decoder), a JPEG whose header declares another size than its rectangle's is not decoded
 * (jpegHeader.ts), and decodes beyond two screens of pixels not yet drawn wait for the one before.
 * A JPEG that does not decode, or not to its rectangle's size, draws nothing: the queue goes on.
 * The decoder is the one the type names (ImageDecoder does not sniff, where an <img> would decode
 * any format it recognised).
 *
 * noVNC 1.7 has no hook for this: its display's imageRect and drawImage are wrapped, as the other
 * wrappers of its internals here. Pinned to 1.7 in package.json.
 */
import type RFB from '@novnc/novnc';
import type { MemoryFramebuffer } from './memoryFramebuffer';
import { jpegFrameSize } from './jpegHeader';
import { SUBSAMPLING, type PlaneLayout, type YuvPlanes } from './yuvPlanes';

/** A decoded rectangle: RGBA pixels, or the decoder's own planes converted as they are drawn (yuvPlanes.ts). */
export type DecodedPixels = { rgba: Uint8Array } | { yuv: YuvPlanes };

/** The RGBA pixels of one decoded rectangle, in the place noVNC's queue keeps a video frame. */
class DecodedRectangle {
  constructor(
    readonly codedWidth: number,
    readonly codedHeight: number,
    public pixels: DecodedPixels | null,
  ) {}

  close(): void {
    this.pixels = null;
  }
}

/** One entry of noVNC 1.7's render queue of type 'frame': drawn once `ready`, re-scanned when `promise` settles. */
interface QueuedFrame {
  ready: boolean;
  frame: DecodedRectangle;
  promise: Promise<void>;
}
interface NoVncDisplay {
  _renderQPush(action: { type: 'frame'; frame: QueuedFrame; x: number; y: number; width: number; height: number }): void;
  _damage(x: number, y: number, w: number, h: number): void;
  imageRect(x: number, y: number, width: number, height: number, mime: string, data: Uint8Array): void;
  drawImage(image: unknown, ...args: number[]): void;
}

/** Decodes one JPEG of `width`×`height` pixels, or null when it is not one of that size. */
export type JpegDecode = (jpeg: Uint8Array, width: number, height: number) => Promise<DecodedPixels | null>;

/** Whether this browser can decode JPEG without an image element (WebCodecs; a secure context). */
export function canDecodeJpegInMemory(): boolean {
  return typeof ImageDecoder === 'function' && typeof VideoFrame === 'function';
}

export const decodeWithImageDecoder: JpegDecode = async (jpeg, width, height) => {
  const decoder = new ImageDecoder({ data: jpeg, type: 'image/jpeg', colorSpaceConversion: 'none' });
  try {
    const { image } = await decoder.decode();
    try {
      if (image.displayWidth !== width || image.displayHeight !== height || image.codedWidth < width || image.codedHeight < height) return null;
      const subsampling = image.format ? SUBSAMPLING[image.format] : undefined;
      // JFIF's colours (BT.601, full range) are converted here; anything else by the browser.
      if (subsampling && image.colorSpace.fullRange !== false && (image.colorSpace.matrix ?? 'smpte170m') === 'smpte170m') {
        const data = new Uint8Array(image.allocationSize());
        const layout = (await image.copyTo(data)) as PlaneLayout[];
        if (layout.length === 3) return { yuv: { data, layout: [layout[0]!, layout[1]!, layout[2]!], shiftX: subsampling[0], shiftY: subsampling[1] } };
      }
      const rgba = new Uint8Array(width * height * 4);
      await image.copyTo(rgba, { format: 'RGBA', colorSpace: 'srgb' });
      return { rgba };
    } finally {
      image.close();
    }
  } finally {
    decoder.close();
  }
};

export function decodeJpegInMemory(rfb: RFB, fb: MemoryFramebuffer, decode: JpegDecode = decodeWithImageDecoder): void {
  const display = (rfb as unknown as { _display?: NoVncDisplay })._display;
  if (!display || typeof display.imageRect !== 'function' || typeof display.drawImage !== 'function' || typeof display._renderQPush !== 'function')
    throw new Error("noVNC's display is not 1.7's: its JPEG rectangles cannot be decoded in memory");
  const imageRect = display.imageRect.bind(display);
  const drawImage = display.drawImage.bind(display);
  /** Pixels decoded or decoding and not drawn yet, and the last decode started. */
  let held = 0;
  let last: Promise<unknown> = Promise.resolve();

  display.imageRect = (x, y, width, height, mime, data) => {
    if (mime !== 'image/jpeg') return imageRect(x, y, width, height, mime, data);
    if (width === 0 || height === 0) return; // as noVNC: an empty image is nothing to draw
    const pixels = width * height;
    // The bytes are a view of noVNC's receive queue, which the next message overwrites.
    const jpeg = data.slice();
    // A decoder sizes its work by the JPEG's own header: one declaring another size is not decoded.
    const declared = jpegFrameSize(jpeg);
    const fits = declared?.width === width && declared.height === height;
    const start = () => (fits ? decode(jpeg, width, height).catch(() => null) : Promise.resolve(null));
    const decoded = held + pixels > 2 * Math.max(fb.width * fb.height, 1) ? last.then(start) : start();
    held += pixels;
    last = decoded;
    const rectangle = new DecodedRectangle(width, height, null);
    const entry: QueuedFrame = { ready: false, frame: rectangle, promise: Promise.resolve() };
    entry.promise = decoded.then((rgba) => {
      rectangle.pixels = rgba;
      entry.ready = true;
    });
    display._renderQPush({ type: 'frame', frame: entry, x, y, width, height });
  };

  // The queue draws a 'frame' entry as (frame, sx, sy, sw, sh, dx, dy, dw, dh), then closes it.
  display.drawImage = (image, ...args) => {
    if (!(image instanceof DecodedRectangle)) return drawImage(image, ...args);
    held -= image.codedWidth * image.codedHeight;
    const [x, y] = [args[4]!, args[5]!];
    const decoded = image.pixels;
    if (decoded && 'yuv' in decoded) fb.yuv(x, y, image.codedWidth, image.codedHeight, decoded.yuv);
    else if (decoded) fb.blit(x, y, image.codedWidth, image.codedHeight, decoded.rgba);
    display._damage(x, y, image.codedWidth, image.codedHeight);
  };
}
