/**
 * File types detected from content, never from the name: magic numbers for binary formats, and
 * `text` only for a file whose every byte is valid UTF-8 with no NUL (TypeDetector, fed the whole
 * stream as it is staged). `detectType` judges a first sample only: for listings, never for a
 * decision.
 */
import { TRANSFERABLE_TYPES } from '../../shared/policy';

export type FileType = (typeof TRANSFERABLE_TYPES)[number];

const MAGIC: Array<[FileType, number[]]> = [
  ['pdf', [0x25, 0x50, 0x44, 0x46, 0x2d]],
  ['png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['jpeg', [0xff, 0xd8, 0xff]],
  ['gif', [0x47, 0x49, 0x46, 0x38]],
  ['zip', [0x50, 0x4b, 0x03, 0x04]],
  ['gzip', [0x1f, 0x8b]],
  ['elf', [0x7f, 0x45, 0x4c, 0x46]],
];

/** `head`: the first bytes of the file (64 are enough); `size`: its whole size. */
export function detectType(head: Buffer, size: number): FileType {
  if (size === 0) return 'empty';
  for (const [type, magic] of MAGIC) if (magic.every((b, i) => head[i] === b)) return type;
  if (looksLikeText(head)) return 'text';
  return 'unknown';
}

function looksLikeText(head: Buffer): boolean {
  if (head.includes(0)) return false;
  try {
    // A multi-byte character may be cut at the end of the sample: ignore its tail.
    new TextDecoder('utf-8', { fatal: true }).decode(trimPartial(head));
    return true;
  } catch {
    return false;
  }
}

function trimPartial(b: Buffer): Buffer {
  const end = b.length;
  for (let i = 1; i <= 3 && end - i >= 0; i++) {
    const byte = b[end - i]!;
    if ((byte & 0xc0) === 0xc0) return b.subarray(0, end - i); // a lead byte whose continuation was cut
    if ((byte & 0xc0) !== 0x80) break;
  }
  return b;
}

const MAGIC_BYTES = Math.max(...MAGIC.map(([, m]) => m.length));

/** The type of a whole stream, fed chunk by chunk: what the policy decides on. */
export class TypeDetector {
  private head = Buffer.alloc(0);
  private size = 0;
  private text = true;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  push(chunk: Buffer): void {
    if (this.head.length < MAGIC_BYTES) this.head = Buffer.concat([this.head, chunk.subarray(0, MAGIC_BYTES - this.head.length)]);
    this.size += chunk.length;
    if (!this.text) return;
    if (chunk.includes(0)) {
      this.text = false;
      return;
    }
    try {
      this.utf8.decode(chunk, { stream: true });
    } catch {
      this.text = false;
    }
  }

  /** The type, once the whole stream was pushed. */
  finish(): FileType {
    if (this.size === 0) return 'empty';
    for (const [type, magic] of MAGIC) if (magic.every((b, i) => this.head[i] === b)) return type;
    if (this.text) {
      try {
        this.utf8.decode(); // a multi-byte character cut at the very end is not text
        return 'text';
      } catch {
        return 'unknown';
      }
    }
    return 'unknown';
  }
}
