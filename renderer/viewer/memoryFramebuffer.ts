import { writeYuv, type YuvPlanes } from './yuvPlanes';

/**
 * A cage's screen as plain memory (RGBA, the layout of an ImageData): what noVNC's decoders draw —
 * fills, decoded rectangles, copies — is written here by typed-array copies, and the visible canvas
 * gets one putImageData of the changed area per framebuffer update. noVNC draws each of them on a
 * hidden canvas instead (a putImageData or a fillRect per rectangle, dozens of small ones per
 * update of a scrolling page, each a trip through the canvas's recording and raster), then copies
 * that canvas to the visible one: most of the viewer's CPU per frame (bench/RESULTS.md, Firefox scroll).
 *
 * Every rectangle is clipped to the screen here: noVNC does not check that a cage's rectangle
 * lies inside its screen, and a canvas clipped silently; a row written past the right edge would
 * land on the next row.
 */
export class MemoryFramebuffer {
  private pixelBytes = new Uint8ClampedArray(0);
  private words = new Uint32Array(0);
  private image: ImageData | null = null;
  private w = 0;
  private h = 0;

  get width(): number {
    return this.w;
  }

  get height(): number {
    return this.h;
  }

  /** The pixels, RGBA, row after row. */
  get pixels(): Uint8ClampedArray {
    return this.pixelBytes;
  }

  /** An ImageData over the pixels themselves (no copy), for putImageData. */
  get imageData(): ImageData {
    this.image ??= new ImageData(this.pixelBytes, this.w, this.h);
    return this.image;
  }

  /** A new size; what the old and the new screens share keeps its pixels, the rest is black. */
  resize(width: number, height: number): void {
    if (width === this.w && height === this.h) return;
    const old = this.pixelBytes;
    const oldWidth = this.w;
    const next = new Uint8ClampedArray(width * height * 4);
    const keptRow = Math.min(width, oldWidth) * 4;
    for (let y = 0; y < Math.min(height, this.h); y++) next.set(old.subarray(y * oldWidth * 4, y * oldWidth * 4 + keptRow), y * width * 4);
    this.pixelBytes = next;
    this.words = new Uint32Array(next.buffer);
    this.image = null;
    this.w = width;
    this.h = height;
  }

  /** A rectangle of one colour; returns false when nothing of it is on the screen. */
  fill(x: number, y: number, width: number, height: number, r: number, g: number, b: number): boolean {
    const c = this.onScreen(x, y, width, height);
    if (!c) return false;
    const word = packRgba(r, g, b);
    const words = this.words;
    const first = c.y * this.w + c.x;
    if (c.width === this.w) {
      words.fill(word, first, first + c.height * this.w);
      return true;
    }
    for (let row = 0, at = first; row < c.height; row++, at += this.w) words.fill(word, at, at + c.width);
    return true;
  }

  /**
   * `width`×`height` RGBA pixels from `source` (row after row, from `offset`) at (x, y); returns
   * false when nothing of them is on the screen.
   */
  blit(x: number, y: number, width: number, height: number, source: ArrayLike<number> & { subarray(begin: number, end: number): ArrayLike<number> }, offset = 0): boolean {
    const c = this.onScreen(x, y, width, height);
    if (!c) return false;
    const pixels = this.pixelBytes;
    const rowBytes = c.width * 4;
    let from = offset + ((c.y - y) * width + (c.x - x)) * 4;
    let to = (c.y * this.w + c.x) * 4;
    if (c.width === width && c.width === this.w) {
      pixels.set(source.subarray(from, from + rowBytes * c.height), to);
      return true;
    }
    for (let row = 0; row < c.height; row++, from += width * 4, to += this.w * 4) pixels.set(source.subarray(from, from + rowBytes), to);
    return true;
  }

  /**
   * `width`×`height` pixels of three bytes (r, g, b: Tight's full-colour rectangles, inflated) at
   * (x, y), made opaque as they are written; returns false when nothing of them is on the screen.
   */
  rgb(x: number, y: number, width: number, height: number, source: ArrayLike<number>): boolean {
    const c = this.onScreen(x, y, width, height);
    if (!c) return false;
    const words = this.words;
    // Read four bytes at a time where the source lets us (an inflator's output: a Uint8Array at
    // the start of its buffer): four pixels are three words. Each pixel is written exactly as the
    // byte-by-byte loop below writes it (memoryFramebuffer.test.ts compares the two).
    const sourceWords = littleEndian && source instanceof Uint8Array && source.byteOffset % 4 === 0 ? new Uint32Array(source.buffer, source.byteOffset, source.length >> 2) : null;
    for (let row = 0; row < c.height; row++) {
      let from = ((c.y - y + row) * width + (c.x - x)) * 3;
      let to = (c.y + row) * this.w + c.x;
      const end = to + c.width;
      if (!littleEndian) {
        for (; to < end; to++, from += 3) words[to] = ((source[from]! << 24) | (source[from + 1]! << 16) | (source[from + 2]! << 8) | 0xff) >>> 0;
        continue;
      }
      if (sourceWords) {
        // Pixel by pixel up to a word boundary (at most three), then four pixels from three words
        // while all twelve bytes lie within the source.
        for (; to < end && (from & 3) !== 0; to++, from += 3) words[to] = (0xff000000 | (source[from + 2]! << 16) | (source[from + 1]! << 8) | source[from]!) >>> 0;
        const fourEnd = to + Math.min((end - to) & ~3, (((source.length - from) / 12) | 0) * 4);
        for (let word = from >> 2; to < fourEnd; to += 4, word += 3, from += 12) {
          const a = sourceWords[word]!;
          const b = sourceWords[word + 1]!;
          const d = sourceWords[word + 2]!;
          words[to] = 0xff000000 | (a & 0xffffff);
          words[to + 1] = 0xff000000 | (a >>> 24) | ((b & 0xffff) << 8);
          words[to + 2] = 0xff000000 | (b >>> 16) | ((d & 0xff) << 16);
          words[to + 3] = 0xff000000 | (d >>> 8);
        }
      }
      for (; to < end; to++, from += 3) words[to] = (0xff000000 | (source[from + 2]! << 16) | (source[from + 1]! << 8) | source[from]!) >>> 0;
    }
    return true;
  }

  /**
   * A `width`×`height` image as Y, U and V planes (a decoded JPEG) at (x, y), converted to opaque
   * RGBA as it is written; returns false when nothing of it is on the screen.
   */
  yuv(x: number, y: number, width: number, height: number, planes: YuvPlanes): boolean {
    const c = this.onScreen(x, y, width, height);
    if (!c) return false;
    writeYuv(this.words, this.w, x, y, c, planes);
    return true;
  }

  /**
   * The rectangle at (fromX, fromY) copied to (toX, toY), as a canvas drawing itself onto itself
   * would: only what lies on the screen at both places moves; the areas may overlap.
   */
  copy(fromX: number, fromY: number, toX: number, toY: number, width: number, height: number): { x: number; y: number; width: number; height: number } | null {
    // Clip the source, move the destination with it; then clip the destination, move the source.
    const s = this.onScreen(fromX, fromY, width, height);
    if (!s) return null;
    const d = this.onScreen(toX + (s.x - fromX), toY + (s.y - fromY), s.width, s.height);
    if (!d) return null;
    const sx = s.x + (d.x - (toX + (s.x - fromX)));
    const sy = s.y + (d.y - (toY + (s.y - fromY)));
    const pixels = this.pixelBytes;
    const rowBytes = d.width * 4;
    const stride = this.w * 4;
    const down = d.y > sy; // copy the last row first, or the rows copied would be copied again
    for (let i = 0; i < d.height; i++) {
      const row = down ? d.height - 1 - i : i;
      const from = ((sy + row) * this.w + sx) * 4;
      pixels.copyWithin((d.y + row) * stride + d.x * 4, from, from + rowBytes);
    }
    return d;
  }

  /** The part of a rectangle on the screen, or null when none of it is. */
  onScreen(x: number, y: number, width: number, height: number): { x: number; y: number; width: number; height: number } | null {
    const left = Math.max(0, x);
    const top = Math.max(0, y);
    const right = Math.min(this.w, x + width);
    const bottom = Math.min(this.h, y + height);
    if (right <= left || bottom <= top) return null;
    return { x: left, y: top, width: right - left, height: bottom - top };
  }
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** One RGBA pixel, opaque, as the Uint32 whose bytes in memory are r, g, b, 255. */
function packRgba(r: number, g: number, b: number): number {
  return littleEndian ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
}
