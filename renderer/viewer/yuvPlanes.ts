/**
 * A decoded JPEG as its decoder gives it, Y, U and V planes (WebCodecs' VideoFrame.copyTo without
 * a format: a copy and no conversion), turned into RGBA as it is written into the memory
 * framebuffer. Converting here, once, at the place the pixels land, costs the viewer less than
 * asking the browser for RGBA (measured: 2.5 against 5.7 ms for 1280×400 pixels; bench/RESULTS.md,
 * Firefox scroll) and holds 1.5 to 3 bytes a pixel while it waits in noVNC's queue instead of 4.
 *
 * JPEG's colours are BT.601 at full range (JFIF); the planes may be subsampled 2×2 (I420), 2×1
 * (I422) or not (I444). Anything else is left to the browser's own conversion (jpegInMemory.ts).
 */

/** Where each plane starts in the copy and how long its rows are (VideoFrame.copyTo's answer). */
export interface PlaneLayout {
  offset: number;
  stride: number;
}

export interface YuvPlanes {
  data: Uint8Array;
  layout: readonly [PlaneLayout, PlaneLayout, PlaneLayout];
  /** log2 of the chroma planes' subsampling across and down: I420 1, 1; I422 1, 0; I444 0, 0. */
  shiftX: number;
  shiftY: number;
}

/** The subsampling of the formats converted here, by WebCodecs' name. */
export const SUBSAMPLING: Readonly<Record<string, readonly [number, number]>> = { I420: [1, 1], I422: [1, 0], I444: [0, 0] };

// BT.601 full range, in 16.16 fixed point: R = Y + 1.402 V', G = Y − 0.344136 U' − 0.714136 V', B = Y + 1.772 U'.
const redOfV = new Int32Array(256);
const greenOfUV = new Int32Array(256 * 2);
const blueOfU = new Int32Array(256);
for (let c = 0; c < 256; c++) {
  redOfV[c] = (91881 * (c - 128) + 32768) >> 16;
  blueOfU[c] = (116130 * (c - 128) + 32768) >> 16;
  greenOfUV[c] = 22554 * (c - 128);
  greenOfUV[256 + c] = 46802 * (c - 128);
}
/** Clamps −384…639 to 0…255, indexed by the value plus 384. */
const clamp = new Uint8Array(1024);
for (let i = 0; i < 1024; i++) clamp[i] = Math.min(255, Math.max(0, i - 384));

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Writes the part of a `width`×`height` YUV image that lands on a `screenWidth`-pixel-wide screen
 * at (x, y) — `clip`, already within the screen and the image — into `words` (RGBA, one Uint32 a pixel).
 */
export function writeYuv(words: Uint32Array, screenWidth: number, x: number, y: number, clip: { x: number; y: number; width: number; height: number }, planes: YuvPlanes): void {
  const { data, layout, shiftX, shiftY } = planes;
  const [luma, u, v] = layout;
  const left = clip.x - x;
  for (let row = clip.y - y, end = row + clip.height, to = clip.y * screenWidth + clip.x; row < end; row++, to += screenWidth) {
    const yRow = luma.offset + row * luma.stride;
    const cRow = row >> shiftY;
    const uRow = u.offset + cRow * u.stride;
    const vRow = v.offset + cRow * v.stride;
    for (let col = left, at = to, last = left + clip.width; col < last; col++, at++) {
      const lum = data[yRow + col]! + 384;
      const cu = data[uRow + (col >> shiftX)]!;
      const cv = data[vRow + (col >> shiftX)]!;
      const r = clamp[lum + redOfV[cv]!]!;
      const g = clamp[lum - ((greenOfUV[cu]! + greenOfUV[256 + cv]! + 32768) >> 16)]!;
      const b = clamp[lum + blueOfU[cu]!]!;
      words[at] = littleEndian ? (0xff000000 | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 0xff) >>> 0;
    }
  }
}
