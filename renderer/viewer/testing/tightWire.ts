/** Test helpers: Tight rectangles as noVNC's decoder reads them, and zlib streams written bit by bit. */

/** noVNC's receive queue, reduced to what the Tight decoder reads. */
export function queue(bytes: Uint8Array) {
  let at = 0;
  return {
    rQwait: (_msg: string, n: number) => bytes.length - at < n,
    rQshift8: () => bytes[at++]!,
    rQshiftBytes: (n: number) => bytes.subarray((at += n) - n, at),
  };
}

/** Tight's compact length (1 to 3 bytes). */
export function compactLength(n: number): number[] {
  const out = [n & 0x7f];
  if (n > 0x7f) {
    out[0]! |= 0x80;
    out.push((n >> 7) & 0x7f);
    if (n > 0x3fff) {
      out[1]! |= 0x80;
      out.push(n >> 14);
    }
  }
  return out;
}

/**
 * Writes deflate's bits into `out` from bit `start`: `put` a value least significant bit first (block
 * headers, extra bits), `putCode` a Huffman code most significant bit first; `bit` where it stands.
 */
export function deflateBits(out: Uint8Array, start: number) {
  const w = {
    bit: start,
    put(value: number, n: number) {
      for (let i = 0; i < n; i++, w.bit++) if ((value >> i) & 1) out[w.bit >> 3]! |= 1 << (w.bit & 7);
    },
    putCode(code: number, n: number) {
      for (let i = n - 1; i >= 0; i--, w.bit++) if ((code >> i) & 1) out[w.bit >> 3]! |= 1 << (w.bit & 7);
    },
  };
  return w;
}
