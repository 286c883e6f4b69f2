/** The size a JPEG declares, read from its frame header past other segments; null for anything else. */
import { describe, expect, it } from 'vitest';
import { jpegFrameSize } from './jpegHeader';

const sof = (marker: number, width: number, height: number) => [0xff, marker, 0, 11, 8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0];

describe("a JPEG's declared size", () => {
  it('is read from its frame header, whatever the coding process, past other segments and fill bytes', () => {
    expect(jpegFrameSize(new Uint8Array([0xff, 0xd8, ...sof(0xc0, 1280, 200)]))).toEqual({ width: 1280, height: 200 });
    expect(jpegFrameSize(new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0, 5, 1, 2, 3, 0xff, 0xff, ...sof(0xc2, 3, 65535)]))).toEqual({ width: 3, height: 65535 });
    // A DHT segment (C4) is no frame header: the frame's comes after it.
    expect(jpegFrameSize(new Uint8Array([0xff, 0xd8, 0xff, 0xc4, 0, 3, 9, ...sof(0xc1, 7, 8)]))).toEqual({ width: 7, height: 8 });
  });

  it('is unknown for what is no JPEG, a scan before its frame header, or a header cut short', () => {
    expect(jpegFrameSize(new Uint8Array([0x89, 0x50, 0x4e, 0x47, ...sof(0xc0, 4, 4)]))).toBeNull();
    expect(jpegFrameSize(new Uint8Array([0xff, 0xd8, 0xff, 0xda, 0, 8, ...sof(0xc0, 4, 4)]))).toBeNull();
    expect(jpegFrameSize(new Uint8Array([0xff, 0xd8, ...sof(0xc0, 4, 4).slice(0, 8)]))).toBeNull();
    expect(jpegFrameSize(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 200, 1, 2]))).toBeNull(); // a segment longer than the bytes
    expect(jpegFrameSize(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0, ...sof(0xc0, 4, 4)]))).toBeNull(); // a length that does not move on
    expect(jpegFrameSize(new Uint8Array([0xff, 0xd8, 0x00, 0xc0]))).toBeNull();
  });
});
