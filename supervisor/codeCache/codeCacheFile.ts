/**
 * A V8 code cache as Cloison writes it beside a CommonJS bundle (`<bundle>.cache`, written by
 * `npm run build`, writeCodeCache.ts): a header line naming the bundle's sha256, then V8's bytes.
 * V8 checks only a cache's Node version, flags and its source's length — a stale cache of a
 * rebuilt bundle of the same length would run the old code — so the header binds it to the bundle's text.
 */
import { createHash } from 'node:crypto';

const MAGIC = 'cloison-code-cache 1 ';
/** The header: the magic, 64 hex digits, a newline. */
const HEADER_BYTES = MAGIC.length + 64 + 1;

export function sourceDigest(source: string): string {
  return createHash('sha256').update(source).digest('hex');
}

export function encodeCodeCache(source: string, v8Data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${MAGIC}${sourceDigest(source)}\n`, 'latin1'), v8Data]);
}

/** V8's bytes for this source, or why the file holds none. */
export function decodeCodeCache(file: Buffer, source: string): { data: Buffer } | { refused: string } {
  if (file.length <= HEADER_BYTES || file.toString('latin1', 0, MAGIC.length) !== MAGIC || file[HEADER_BYTES - 1] !== 0x0a) return { refused: 'not a Cloison code cache' };
  if (file.toString('latin1', MAGIC.length, HEADER_BYTES - 1) !== sourceDigest(source)) return { refused: 'made for another build of the bundle' };
  return { data: file.subarray(HEADER_BYTES) };
}
