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

/**
 * The binary frame of the `bytes` read into `buf`, its header written into the room before them.
 * With `payload` larger than `bytes`, the frame's start: the header says `payload` bytes, the rest
 * of which are written right after, as they are (the gateway's held reads of one update).
 */
export function frameInPlace(buf: Uint8Array, bytes: number, payload = bytes): Buffer {
  const headerBytes = payload <= 125 ? 2 : payload < 65536 ? 4 : 10;
  if (buf.byteOffset < headerBytes) throw new RangeError('no room for the frame header before the bytes');
  const frame = Buffer.from(buf.buffer, buf.byteOffset - headerBytes, headerBytes + bytes);
  frame[0] = 0x82; // FIN, binary
  if (headerBytes === 2) frame[1] = payload;
  else if (headerBytes === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(payload, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(payload / 2 ** 32), 2);
    frame.writeUInt32BE(payload >>> 0, 6);
  }
  return frame;
}
