/**
 * Small PNG thumbnails of converted pages, made from the converted pixels (never from the
 * original): box-averaged down to a width the dialog shows, encoded here (zlib, no decoder
 * involved), for the trusted dialog to show as images the supervisor made.
 */
import { crc32, deflateSync } from 'node:zlib';

export const THUMBNAIL_WIDTH = 120;

/** The page's pixels (width × height × 3 bytes RGB) as a PNG `maxWidth` wide at most, as a data: URL. */
export function thumbnailOf(width: number, height: number, rgb: Buffer, maxWidth = THUMBNAIL_WIDTH): string {
  const scale = Math.max(1, Math.ceil(width / maxWidth));
  const tw = Math.max(1, Math.floor(width / scale));
  const th = Math.max(1, Math.floor(height / scale));
  const rows = Buffer.alloc(th * (tw * 3 + 1));
  for (let y = 0; y < th; y++) {
    const row = y * (tw * 3 + 1);
    rows[row] = 0; // filter: none
    for (let x = 0; x < tw; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let dy = 0; dy < scale; dy++) {
        let i = ((y * scale + dy) * width + x * scale) * 3;
        for (let dx = 0; dx < scale; dx++, i += 3) {
          r += rgb[i]!;
          g += rgb[i + 1]!;
          b += rgb[i + 2]!;
        }
      }
      const n = scale * scale;
      const o = row + 1 + x * 3;
      rows[o] = Math.round(r / n);
      rows[o + 1] = Math.round(g / n);
      rows[o + 2] = Math.round(b / n);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(tw, 0);
  ihdr.writeUInt32BE(th, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter method, no interlace
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
  return `data:image/png;base64,${png.toString('base64')}`;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}
