/**
 * The size a JPEG declares in its frame header (SOFn), read from a cage's bytes before any decoder
 * sees them: a decoder sizes its work by this header, not by the Tight rectangle around it, so a
 * few bytes may declare a picture of gigabytes (jpegInMemory.test.ts). Only segment lengths and the
 * frame header are read, within the bytes given; anything else answers null.
 */

/** Markers with no length after them: TEM, RSTn, SOI, EOI. */
function standalone(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9);
}

/** Start-of-frame markers, every coding process (not DHT C4, JPG C8, DAC CC). */
function startOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

const START_OF_SCAN = 0xda;

export function jpegFrameSize(jpeg: Uint8Array): { width: number; height: number } | null {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return null;
  let at = 2;
  while (at + 4 <= jpeg.length) {
    if (jpeg[at] !== 0xff) return null;
    const marker = jpeg[at + 1]!;
    if (marker === 0xff) {
      at++; // a fill byte before a marker
      continue;
    }
    if (standalone(marker)) {
      at += 2;
      continue;
    }
    if (marker === START_OF_SCAN) return null; // pixels before any frame header
    const length = (jpeg[at + 2]! << 8) | jpeg[at + 3]!;
    if (length < 2) return null;
    if (startOfFrame(marker)) {
      if (length < 7 || at + 9 > jpeg.length) return null;
      return { height: (jpeg[at + 5]! << 8) | jpeg[at + 6]!, width: (jpeg[at + 7]! << 8) | jpeg[at + 8]! };
    }
    at += 2 + length;
  }
  return null;
}
