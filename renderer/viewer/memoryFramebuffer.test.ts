/**
 * The viewer's screen in memory: what noVNC draws lands where a canvas would put it, a cage's
 * rectangle that reaches past the screen is clipped (never wrapped onto the next row, never a
 * throw that would end the viewer), and overlapping copies move the pixels as a canvas would.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFramebuffer } from './memoryFramebuffer';

/** The screen as rows of one-letter pixels: '.' black, or the letter its red byte names. */
function picture(fb: MemoryFramebuffer): string[] {
  const rows: string[] = [];
  for (let y = 0; y < fb.height; y++) {
    let row = '';
    for (let x = 0; x < fb.width; x++) {
      const at = (y * fb.width + x) * 4;
      const [r, g, b, a] = [fb.pixels[at]!, fb.pixels[at + 1]!, fb.pixels[at + 2]!, fb.pixels[at + 3]!];
      row += r === 0 && a === 0 ? '.' : a !== 255 || g !== r || b !== r ? '?' : String.fromCharCode(r);
    }
    rows.push(row);
  }
  return rows;
}

/** `width`×`height` RGBA pixels, each the letter `letters[i]` (grey, opaque). */
function pixels(letters: string, offset = 0): Uint8Array {
  const out = new Uint8Array(offset + letters.length * 4);
  [...letters].forEach((c, i) => out.set([c.charCodeAt(0), c.charCodeAt(0), c.charCodeAt(0), 255], offset + i * 4));
  return out;
}

const A = 'A'.charCodeAt(0);

describe('memory framebuffer', () => {
  it('fills a rectangle, opaque, and a full-width one in one go', () => {
    const fb = new MemoryFramebuffer();
    fb.resize(5, 4);
    expect(fb.fill(1, 1, 2, 2, A, A, A)).toBe(true);
    expect(fb.fill(0, 3, 5, 1, A + 1, A + 1, A + 1)).toBe(true);
    expect(picture(fb)).toEqual(['.....', '.AA..', '.AA..', 'BBBBB']);
  });

  it('keeps each colour byte where a canvas keeps it (r, g, b, alpha)', () => {
    const fb = new MemoryFramebuffer();
    fb.resize(1, 1);
    fb.fill(0, 0, 1, 1, 10, 20, 30);
    expect([...fb.pixels]).toEqual([10, 20, 30, 255]);
  });

  it('clips a rectangle reaching past any edge: nothing wraps onto the next row', () => {
    const fb = new MemoryFramebuffer();
    fb.resize(4, 3);
    fb.fill(2, 0, 100, 1, A, A, A);
    fb.fill(-5, 2, 6, 10, A + 1, A + 1, A + 1);
    expect(picture(fb)).toEqual(['..AA', '....', 'B...']);
    expect(fb.fill(4, 0, 3, 3, A, A, A)).toBe(false);
    expect(fb.fill(0, -3, 4, 3, A, A, A)).toBe(false);
    expect(fb.fill(1, 1, 0, 5, A, A, A)).toBe(false);
    expect(fb.blit(10, 10, 1, 1, pixels('C'))).toBe(false);
  });

  it('blits decoded pixels, from an offset, clipped on every side', () => {
    const fb = new MemoryFramebuffer();
    fb.resize(4, 3);
    expect(fb.blit(1, 0, 2, 2, pixels('ABCD', 8), 8)).toBe(true);
    expect(picture(fb)).toEqual(['.AB.', '.CD.', '....']);
    // 3×3 at (-1, 1): only its right 2×2 is on the screen, its bottom row below it.
    fb.blit(-1, 1, 3, 3, pixels('EFGHIJKLM'));
    expect(picture(fb)).toEqual(['.AB.', 'FGD.', 'IJ..']);
    fb.blit(2, 2, 3, 1, pixels('NOP'));
    expect(picture(fb)).toEqual(['.AB.', 'FGD.', 'IJNO']);
  });

  it('writes three-byte pixels opaque, clipped like any other rectangle', () => {
    const fb = new MemoryFramebuffer();
    fb.resize(3, 2);
    const rgb = (letters: string) => new Uint8Array([...letters].flatMap((c) => [c.charCodeAt(0), c.charCodeAt(0), c.charCodeAt(0)]));
    expect(fb.rgb(1, 0, 3, 2, rgb('ABCDEF'))).toBe(true);
    expect(picture(fb)).toEqual(['.AB', '.DE']);
    expect(fb.rgb(-1, 1, 2, 1, rgb('GH'))).toBe(true);
    expect(picture(fb)).toEqual(['.AB', 'HDE']);
    expect(fb.rgb(3, 0, 1, 1, rgb('I'))).toBe(false);
    fb.rgb(0, 0, 1, 1, new Uint8Array([10, 20, 30]));
    expect([...fb.pixels.subarray(0, 4)]).toEqual([10, 20, 30, 255]);
  });

  it('writes three-byte pixels four at a time exactly as one at a time: every alignment, clip and short source', () => {
    // The reference: each pixel from its own three bytes, a byte past the source's end read as 0.
    const reference = (into: Uint8ClampedArray, screenWidth: number, x: number, y: number, width: number, height: number, source: ArrayLike<number>) => {
      for (let row = 0; row < height; row++)
        for (let col = 0; col < width; col++) {
          const [sx, sy] = [x + col, y + row];
          if (sx < 0 || sy < 0 || sx >= screenWidth || sy >= into.length / 4 / screenWidth) continue;
          const from = (row * width + col) * 3;
          into.set([source[from] ?? 0, source[from + 1] ?? 0, source[from + 2] ?? 0, 255], (sy * screenWidth + sx) * 4);
        }
    };
    const [W, H] = [37, 11];
    const fb = new MemoryFramebuffer();
    fb.resize(W, H);
    const expected = new Uint8ClampedArray(W * H * 4);
    let seed = 7;
    const next = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    for (let k = 0; k < 400; k++) {
      const [x, y, width, height] = [next(W + 10) - 5, next(H + 6) - 3, 1 + next(45), 1 + next(8)];
      const bytes = width * height * 3;
      // The inflator's own case (a word-aligned Uint8Array), a view at every byte offset, a source
      // cut short (a row's last pixels past its end), a clamped array and a plain one.
      const offset = next(4) * (next(2) ? 1 : 4);
      const length = next(5) === 0 ? Math.max(0, bytes - 1 - next(12)) : bytes;
      const buffer = new Uint8Array(offset + length + 8).map(() => next(256));
      const kind = next(6);
      const source = kind === 4 ? new Uint8ClampedArray(buffer.subarray(offset, offset + length)) : kind === 5 ? [...buffer.subarray(offset, offset + length)] : buffer.subarray(offset, offset + length);
      fb.rgb(x, y, width, height, source);
      reference(expected, W, x, y, width, height, source);
      expect(fb.pixels).toEqual(expected);
    }
  });

  it('copies an area onto itself downwards, upwards and sideways as a canvas would', () => {
    const rows = ['ABCD', 'EFGH', 'IJKL', 'MNOP'];
    const fresh = () => {
      const fb = new MemoryFramebuffer();
      fb.resize(4, 4);
      fb.blit(0, 0, 4, 4, pixels(rows.join('')));
      return fb;
    };
    let fb = fresh();
    fb.copy(0, 0, 0, 1, 4, 3); // a scroll down by one row
    expect(picture(fb)).toEqual(['ABCD', 'ABCD', 'EFGH', 'IJKL']);
    fb = fresh();
    fb.copy(0, 1, 0, 0, 4, 3); // up
    expect(picture(fb)).toEqual(['EFGH', 'IJKL', 'MNOP', 'MNOP']);
    fb = fresh();
    fb.copy(0, 0, 1, 0, 3, 4); // right, overlapping in every row
    expect(picture(fb)).toEqual(['AABC', 'EEFG', 'IIJK', 'MMNO']);
  });

  it('copies only what lies on the screen at both places', () => {
    const fb = new MemoryFramebuffer();
    fb.resize(4, 2);
    fb.blit(0, 0, 4, 2, pixels('ABCDEFGH'));
    expect(fb.copy(-2, 0, 2, 0, 4, 1)).toBeNull(); // what is on the screen there would land past its edge
    expect(fb.copy(-1, 0, 1, 0, 3, 1)).toEqual({ x: 2, y: 0, width: 2, height: 1 });
    expect(picture(fb)).toEqual(['ABAB', 'EFGH']);
    expect(fb.copy(2, 1, 3, 1, 5, 5)).toEqual({ x: 3, y: 1, width: 1, height: 1 });
    expect(picture(fb)).toEqual(['ABAB', 'EFGG']);
    expect(fb.copy(0, 0, 9, 9, 2, 2)).toBeNull();
  });

  it('keeps what the old and new sizes share when resized', () => {
    const fb = new MemoryFramebuffer();
    fb.resize(3, 2);
    fb.blit(0, 0, 3, 2, pixels('ABCDEF'));
    fb.resize(2, 3);
    expect(picture(fb)).toEqual(['AB', 'DE', '..']);
    fb.resize(4, 1);
    expect(picture(fb)).toEqual(['AB..']);
  });
});
