/**
 * A decoded JPEG's planes written into the memory framebuffer: JFIF's BT.601 full-range colours
 * come out as the browser's own conversion gives them (within rounding), each chroma sample covers
 * the pixels its subsampling says, and only what lies on the screen is written.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryFramebuffer } from './memoryFramebuffer';
import { provideImageData } from './testing/nodeImageData';
import type { YuvPlanes } from './yuvPlanes';

beforeAll(() => {
  provideImageData();
});

/** Planes of a `width`×`height` image, its chroma subsampled by 2^shiftX across and 2^shiftY down. */
function planes(width: number, height: number, shiftX: number, shiftY: number, y: (col: number, row: number) => number, uv: (col: number, row: number) => [number, number]): YuvPlanes {
  const cw = (width + (1 << shiftX) - 1) >> shiftX;
  const ch = (height + (1 << shiftY) - 1) >> shiftY;
  const data = new Uint8Array(width * height + 2 * cw * ch);
  for (let row = 0; row < height; row++) for (let col = 0; col < width; col++) data[row * width + col] = y(col, row);
  const u = width * height;
  const v = u + cw * ch;
  for (let row = 0; row < ch; row++)
    for (let col = 0; col < cw; col++) {
      const [cu, cv] = uv(col, row);
      data[u + row * cw + col] = cu;
      data[v + row * cw + col] = cv;
    }
  return { data, layout: [{ offset: 0, stride: width }, { offset: u, stride: cw }, { offset: v, stride: cw }], shiftX, shiftY };
}

function pixel(fb: MemoryFramebuffer, x: number, y: number): number[] {
  const at = (y * fb.width + x) * 4;
  return [...fb.pixels.subarray(at, at + 4)];
}

describe("a decoded JPEG's planes in the memory framebuffer", () => {
  it('converts BT.601 full range as JFIF says: grey, white, black and the primaries', () => {
    const fb = new MemoryFramebuffer();
    fb.resize(5, 1);
    // Y, U, V of (128,128,128), white, black, red and blue at full range (JFIF's equations).
    const yuv: Array<[number, number, number]> = [
      [128, 128, 128],
      [255, 128, 128],
      [0, 128, 128],
      [76, 85, 255],
      [29, 255, 107],
    ];
    expect(fb.yuv(0, 0, 5, 1, planes(5, 1, 0, 0, (c) => yuv[c]![0], (c) => [yuv[c]![1], yuv[c]![2]]))).toBe(true);
    expect(pixel(fb, 0, 0)).toEqual([128, 128, 128, 255]);
    expect(pixel(fb, 1, 0)).toEqual([255, 255, 255, 255]);
    expect(pixel(fb, 2, 0)).toEqual([0, 0, 0, 255]);
    const red = pixel(fb, 3, 0);
    const blue = pixel(fb, 4, 0);
    for (const [got, want] of [...red.map((v, i) => [v, [254, 0, 0, 255][i]!]), ...blue.map((v, i) => [v, [0, 0, 255, 255][i]!])]) expect(Math.abs(got! - want!)).toBeLessThanOrEqual(2);
  });

  it("spreads each chroma sample over the pixels of its block (I420: 2×2, I422: 2×1)", () => {
    const fb = new MemoryFramebuffer();
    fb.resize(4, 4);
    // Left blocks blue-ish (U high), right blocks red-ish (V high), same luma.
    const uv = (col: number): [number, number] => (col === 0 ? [200, 128] : [128, 200]);
    fb.yuv(0, 0, 4, 4, planes(4, 4, 1, 1, () => 100, uv));
    for (const [x, y] of [
      [0, 0],
      [1, 1],
      [1, 3],
    ]) expect(pixel(fb, x!, y!)[2]!).toBeGreaterThan(200); // blue
    for (const [x, y] of [
      [2, 0],
      [3, 3],
    ]) expect(pixel(fb, x!, y!)[0]!).toBeGreaterThan(180); // red
    fb.yuv(0, 0, 4, 4, planes(4, 4, 1, 0, () => 100, (_c, row) => (row % 2 === 0 ? [200, 128] : [128, 200])));
    expect(pixel(fb, 3, 0)[2]!).toBeGreaterThan(200);
    expect(pixel(fb, 3, 1)[0]!).toBeGreaterThan(180);
  });

  it('writes only what lies on the screen, at its place', () => {
    const fb = new MemoryFramebuffer();
    fb.resize(4, 2);
    fb.fill(0, 0, 4, 2, 9, 9, 9);
    // 4×2 white image at x = 2: its left half lands on columns 2 and 3, the rest off the screen.
    expect(fb.yuv(2, 0, 4, 2, planes(4, 2, 1, 1, (c) => (c < 2 ? 255 : 0), () => [128, 128]))).toBe(true);
    expect(pixel(fb, 1, 0)).toEqual([9, 9, 9, 255]);
    expect(pixel(fb, 2, 1)).toEqual([255, 255, 255, 255]);
    expect(pixel(fb, 3, 0)).toEqual([255, 255, 255, 255]);
    expect(fb.yuv(4, 0, 2, 2, planes(2, 2, 1, 1, () => 0, () => [128, 128]))).toBe(false);
  });
});
