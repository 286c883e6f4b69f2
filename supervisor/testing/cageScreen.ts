/**
 * Test helper: a cage's whole screen, read inside the cage with `xwd -root` (as a cage process,
 * on its own display) and decoded here, for tests that look at what an application painted.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CageShell } from './realCage';

export interface CageScreen {
  width: number;
  height: number;
  /** RGBA, row-major. */
  rgba: Buffer;
  /** How many distinct colours the screen holds (an empty desktop has one or two). */
  colours(): number;
  /** The share of the screen's pixels within `tolerance` of `rgb`. */
  share(rgb: [number, number, number], tolerance?: number): number;
}

/** Captures the screen of a cage whose home is `home` on the host, through its shell. */
export async function captureCageScreen(sh: CageShell, home: string): Promise<CageScreen> {
  const name = `.cloison-test-screen-${process.pid}.xwd`;
  // A window that closes while xwd walks the tree fails it (BadWindow): try again.
  let result = { code: 1, stderr: '' };
  for (let attempt = 0; attempt < 3 && result.code !== 0; attempt++) result = await sh(`xwd -root -silent > "$HOME/${name}"`, 20_000);
  if (result.code !== 0) throw new Error(`xwd failed in the cage: ${result.stderr}`);
  const file = join(home, name);
  try {
    return decodeXwd(readFileSync(file));
  } finally {
    rmSync(file, { force: true });
  }
}

/** Decodes an XWD dump of a TrueColor ZPixmap of 24 or 32 bits a pixel (what Xvnc -depth 24 gives). */
export function decodeXwd(buf: Buffer): CageScreen {
  const field = (i: number) => buf.readUInt32BE(i * 4);
  const headerSize = field(0);
  const [format, depth, width, height] = [field(2), field(3), field(4), field(5)];
  const byteOrder = field(7);
  const bitsPerPixel = field(11);
  const bytesPerLine = field(12);
  const ncolours = field(19);
  if (format !== 2 || (bitsPerPixel !== 32 && bitsPerPixel !== 24) || depth < 24) throw new Error(`unexpected XWD: format ${format}, depth ${depth}, ${bitsPerPixel} bpp`);
  const [redMask, greenMask, blueMask] = [field(14), field(15), field(16)];
  const data = buf.subarray(headerSize + ncolours * 12);
  const rgba = Buffer.alloc(width * height * 4);
  const shift = (mask: number) => Math.log2(mask & -mask);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * bytesPerLine + x * (bitsPerPixel / 8);
      const p = bitsPerPixel === 32 ? (byteOrder === 0 ? data.readUInt32LE(at) : data.readUInt32BE(at)) : byteOrder === 0 ? data.readUIntLE(at, 3) : data.readUIntBE(at, 3);
      const o = (y * width + x) * 4;
      rgba[o] = (p & redMask) >>> shift(redMask);
      rgba[o + 1] = (p & greenMask) >>> shift(greenMask);
      rgba[o + 2] = (p & blueMask) >>> shift(blueMask);
      rgba[o + 3] = 255;
    }
  }
  return {
    width,
    height,
    rgba,
    colours() {
      const seen = new Set<number>();
      for (let i = 0; i < rgba.length; i += 4) seen.add(rgba.readUInt32BE(i));
      return seen.size;
    },
    share([r, g, b], tolerance = 8) {
      let n = 0;
      for (let i = 0; i < rgba.length; i += 4) {
        if (Math.abs(rgba[i]! - r) <= tolerance && Math.abs(rgba[i + 1]! - g) <= tolerance && Math.abs(rgba[i + 2]! - b) <= tolerance) n++;
      }
      return n / (width * height);
    },
  };
}
