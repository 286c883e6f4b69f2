/**
 * Test helper: a cage's screen as the X server holds it (xwd -root inside the cage) read into RGB
 * pixels, and written as PNG for a person to look at. Only TrueColor dumps of four bytes a pixel
 * (what Xvnc -depth 24 gives); anything else is refused with the reason.
 */
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

export interface RgbImage {
  width: number;
  height: number;
  /** RGB, three bytes a pixel, row after row. */
  rgb: Buffer;
}

export function parseXwd(xwd: Buffer): RgbImage {
  const field = (i: number) => xwd.readUInt32BE(i * 4);
  const headerSize = field(0);
  const [width, height, byteOrder, bitsPerPixel, bytesPerLine, ncolors] = [field(4), field(5), field(7), field(11), field(12), field(19)];
  if (field(1) !== 7) throw new Error(`not an XWD version 7 dump (version ${field(1)})`);
  // xwd -root says 24 bits a pixel for a depth-24 screen while a GL window shows (Mesa's software
  // GLX on Xvnc), its lines still four bytes a pixel: read as 32.
  const fourBytes = bitsPerPixel === 32 || (bitsPerPixel === 24 && bytesPerLine >= width * 4);
  if (!fourBytes) throw new Error(`${bitsPerPixel} bits a pixel, ${bytesPerLine} bytes a line of ${width}: only four bytes a pixel are read here`);
  const [redMask, greenMask, blueMask] = [field(14), field(15), field(16)];
  const data = headerSize + ncolors * 12;
  const rgb = Buffer.alloc(width * height * 3);
  const shift = (mask: number) => 31 - Math.clz32(mask & -mask);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = data + y * bytesPerLine + x * 4;
      const p = byteOrder === 0 ? xwd.readUInt32LE(at) : xwd.readUInt32BE(at);
      const o = (y * width + x) * 3;
      rgb[o] = (p & redMask) >>> shift(redMask);
      rgb[o + 1] = (p & greenMask) >>> shift(greenMask);
      rgb[o + 2] = (p & blueMask) >>> shift(blueMask);
    }
  }
  return { width, height, rgb };
}

/** A rectangle of an image (clamped to it). */
export function crop(image: RgbImage, x: number, y: number, width: number, height: number): RgbImage {
  const w = Math.max(0, Math.min(width, image.width - x));
  const h = Math.max(0, Math.min(height, image.height - y));
  const rgb = Buffer.alloc(w * h * 3);
  for (let row = 0; row < h; row++) image.rgb.copy(rgb, row * w * 3, ((y + row) * image.width + x) * 3, ((y + row) * image.width + x + w) * 3);
  return { width: w, height: h, rgb };
}

/** How many pixels differ from the rectangle's most common colour (its background). */
export function inkPixels(image: RgbImage): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < image.rgb.length; i += 3) {
    const c = (image.rgb[i]! << 16) | (image.rgb[i + 1]! << 8) | image.rgb[i + 2]!;
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return image.width * image.height - Math.max(0, ...counts.values());
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([len, typed, crc]);
}

export function writePng(path: string, image: RgbImage): void {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(image.width, 0);
  header.writeUInt32BE(image.height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc((image.width * 3 + 1) * image.height);
  for (let y = 0; y < image.height; y++) image.rgb.copy(rows, y * (image.width * 3 + 1) + 1, y * image.width * 3, (y + 1) * image.width * 3);
  writeFileSync(path, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]));
}
