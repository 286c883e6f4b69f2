/**
 * The gateway's cage → viewer WebSocket frames, written in place: the frame header goes into the
 * FRAME_HEADER_ROOM bytes the read ring keeps before each read (readRing.ts), and header and bytes
 * leave as one buffer in one write. Through `ws.send` each chunk took a fresh header buffer, two
 * options objects and two corked writes, ~1.4 KB of young garbage per chunk (bench/RESULTS.md,
 * "Where the gateway's round-trip tail comes from"). The bytes on the wire are ws's own: a final,
 * unmasked binary frame (a server's frames are never masked; no extension is negotiated, the
 * gateway's server has perMessageDeflate off, so ws itself never queues a frame behind ours).
 */
export const FRAME_HEADER_ROOM = 10;

/** The binary frame of the `bytes` read into `buf`, its header written into the room before them. */
export function frameInPlace(buf: Uint8Array, bytes: number): Buffer {
  const headerBytes = bytes <= 125 ? 2 : bytes < 65536 ? 4 : 10;
  if (buf.byteOffset < headerBytes) throw new RangeError('no room for the frame header before the bytes');
  const frame = Buffer.from(buf.buffer, buf.byteOffset - headerBytes, headerBytes + bytes);
  frame[0] = 0x82; // FIN, binary
  if (headerBytes === 2) frame[1] = bytes;
  else if (headerBytes === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(bytes, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(bytes / 2 ** 32), 2);
    frame.writeUInt32BE(bytes >>> 0, 6);
  }
  return frame;
}
