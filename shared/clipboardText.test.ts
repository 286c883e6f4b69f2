import { describe, expect, it } from 'vitest';
import { decodeClipboardText, endsPreviewOf, lineCount, previewOf } from './clipboardText';

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

  describe('every character class that hides or acts', () => {
    // Long enough that one control is not "binary data" (over one character in four).
    const stripped = (ch: string) => decodeClipboardText(utf8(`du texte a${ch}b copié`));
    it.each([
      ['C0 escape (starts a terminal sequence)', '\u001b'],
      ['C0 carriage return', '\r'],
      ['DEL', '\u007f'],
      ['C1 CSI U+009B (a terminal escape in one byte)', '\u009b'],
      ['C1 NEL U+0085', '\u0085'],
      ['C1 U+0080', '\u0080'],
      ['C1 U+009F', '\u009f'],
    ])('Cc, %s: stripped and counted', (_name, ch) => {
      expect(stripped(ch)).toEqual({ ok: true, text: 'du texte ab copié', stripped: 1 });
    });

    it('keeps tab and newline (Cc too, but text)', () => {
      expect(stripped('\t')).toEqual({ ok: true, text: 'du texte a\tb copié', stripped: 0 });
      expect(stripped('\n')).toEqual({ ok: true, text: 'du texte a\nb copié', stripped: 0 });
      expect(previewOf('a\nb').invisibles).toBe(0);
    });

    it.each([
      ['Cf soft hyphen', '\u00ad', 'U+00AD'],
      ['Cf Arabic letter mark', '\u061c', 'U+061C'],
      ['Cf zero-width space', '\u200b', 'U+200B'],
      ['Cf zero-width joiner', '\u200d', 'U+200D'],
      ['Cf right-to-left override', '\u202e', 'U+202E'],
      ['Cf left-to-right isolate', '\u2066', 'U+2066'],
      ['Cf word joiner', '\u2060', 'U+2060'],
      ['Cf BOM', '\ufeff', 'U+FEFF'],
      ['Cf interlinear annotation', '\ufff9', 'U+FFF9'],
      ['Cf tag LATIN CAPITAL A', '\u{e0041}', 'U+E0041'],
      ['Cf cancel tag', '\u{e007f}', 'U+E007F'],
      ['Zl line separator', '\u2028', 'U+2028'],
      ['Zp paragraph separator', '\u2029', 'U+2029'],
      ['variation selector 16', '\ufe0f', 'U+FE0F'],
      ['variation selector supplement', '\u{e0100}', 'U+E0100'],
      ['Mongolian free variation selector', '\u180b', 'U+180B'],
      ['Hangul filler', '\u3164', 'U+3164'],
    ])('%s: kept, shown as a marker, counted', (_name, ch, code) => {
      expect(stripped(ch)).toEqual({ ok: true, text: `du texte a${ch}b copié`, stripped: 0 });
      expect(previewOf(`a${ch}b`)).toEqual({ text: `a⟨${code}⟩b`, invisibles: 1, truncated: false });
    });

    it('a whole hidden message in tag characters is shown character by character', () => {
      const hidden = [...'pay'].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');
      expect(previewOf(`ok${hidden}`).text).toBe('ok⟨U+E0070⟩⟨U+E0061⟩⟨U+E0079⟩');
    });
  });

  it('shows the start and the end of a long text, says how much lies between, and counts invisibles there too', () => {
    const text = 'DÉBUT ' + 'x'.repeat(10_000) + '\u202e' + 'y'.repeat(10_000) + ' FIN';
    const p = endsPreviewOf(text, 200);
    expect(p.head.text.startsWith('DÉBUT ')).toBe(true);
    expect(p.tail.text.endsWith(' FIN')).toBe(true);
    expect([...p.head.text].length + [...p.tail.text].length).toBe(200);
    expect(p.omitted).toBe([...text].length - 200);
    expect(p.invisibles).toBe(1); // the override in the unshown middle is still counted
    expect(endsPreviewOf('court', 200)).toMatchObject({ omitted: 0, head: { text: 'court' }, tail: { text: '' } });
  });

  it('counts lines', () => {
    expect([lineCount(''), lineCount('a'), lineCount('a\nb'), lineCount('a\n')]).toEqual([0, 1, 2, 2]);
  });
});
