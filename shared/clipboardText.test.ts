import { describe, expect, it } from 'vitest';
import { decodeClipboardText, lineCount, previewOf } from './clipboardText';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('clipboard text', () => {
  it('keeps ordinary text, tabs and newlines', () => {
    expect(decodeClipboardText(utf8('ligne 1\n\tligne 2 — été'))).toEqual({ ok: true, text: 'ligne 1\n\tligne 2 — été', stripped: 0 });
  });

  it('strips NUL and other C0 controls, counting them', () => {
    expect(decodeClipboardText(utf8('abc\u0000def\u001b[31mred\u0007'))).toEqual({ ok: true, text: 'abcdef[31mred', stripped: 3 });
  });

  it('refuses invalid UTF-8 and binary data', () => {
    expect(decodeClipboardText(new Uint8Array([0x66, 0xff, 0xfe, 0x67]))).toEqual({ ok: false, reason: 'not-utf8' });
    expect(decodeClipboardText(new Uint8Array(64).fill(0))).toEqual({ ok: false, reason: 'binary' });
  });

  it('shows bidi overrides and zero-width characters in the preview', () => {
    const p = previewOf('invoice_\u202Efdp.exe\u200B');
    expect(p.text).toBe('invoice_⟨U+202E⟩fdp.exe⟨U+200B⟩');
    expect(p.invisibles).toBe(2);
  });

  it('cuts runs of combining marks and long texts', () => {
    const zalgo = 'a' + '\u0301'.repeat(500) + 'b';
    expect(previewOf(zalgo).text).toBe('a\u0301\u0301⟨+498 marks⟩b');
    const long = previewOf('x'.repeat(5000), 100);
    expect(long).toMatchObject({ truncated: true });
    expect(long.text.length).toBe(100);
  });

  it('counts lines', () => {
    expect([lineCount(''), lineCount('a'), lineCount('a\nb'), lineCount('a\n')]).toEqual([0, 1, 2, 2]);
  });
});
