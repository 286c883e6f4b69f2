/**
 * Clipboard text as the broker handles it: decoded strictly as UTF-8, stripped of every control
 * character, and previewed with every invisible or direction-changing character made visible, so
 * what the user confirms is what crosses.
 *
 * - Stripped (category Cc, all of C0, DEL and C1, tab and newline kept): they have no place in text
 *   a person copied, and a terminal obeys them (U+009B is a CSI, U+001B starts an escape).
 * - Kept but shown as ⟨U+XXXX⟩ and counted: format characters (Cf: bidi marks and overrides,
 *   zero-width characters, tag characters U+E0000–U+E007F, BOM…), the line and paragraph
 *   separators (Zl, Zp: U+2028, U+2029) and variation selectors, plus the invisible Hangul fillers.
 *   Some are legitimate (a joiner in an emoji or an Indic script, a mark in Arabic text), so they
 *   cross as they are — but the user sees each one before saying yes.
 */

export type DecodeResult = { ok: true; text: string; stripped: number } | { ok: false; reason: 'not-utf8' | 'binary' };

// Every control character (Cc) except tab (09) and newline (0a).
const STRIPPED = /(?![\t\n])\p{Cc}/gu;

/** Strict UTF-8 decode, then sanitising. Binary data (many NULs or controls) is refused whole. */
export function decodeClipboardText(bytes: Uint8Array): DecodeResult {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return { ok: false, reason: 'not-utf8' };
  }
  const controls = text.match(STRIPPED)?.length ?? 0;
  // More than one control in four characters is not text someone copied: it is binary.
  if (controls > 0 && controls * 4 > text.length) return { ok: false, reason: 'binary' };
  return { ok: true, text: text.replace(STRIPPED, ''), stripped: controls };
}

/**
 * Characters that must never reach a name shown or created by the supervisor: controls (Cc),
 * format characters (Cf: soft hyphen, bidi marks and overrides, zero-width characters, tags, BOM),
 * line and paragraph separators, variation selectors, Hangul fillers. A regex class body (u flag).
 */
export const NAME_HIDING_CHARACTERS = '\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Variation_Selector}\\u115f\\u1160\\u3164\\uffa0';

/** How an invisible character is shown: ⟨U+202E⟩. */
export function invisibleMarker(ch: string): string {
  return `⟨U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`;
}

/** Characters that change how text reads without showing (see the header), and any stray control. */
const INVISIBLE = /(?![\t\n])[\p{Cf}\p{Zl}\p{Zp}\p{Variation_Selector}\p{Cc}\u115f\u1160\u3164\uffa0]/u;
const COMBINING = /\p{M}/u;

export interface Preview {
  text: string;
  /** Invisible or direction-changing characters shown as ⟨U+XXXX⟩. */
  invisibles: number;
  truncated: boolean;
}

/** A long text's preview: its start and its end, and how much lies between, unshown. */
export interface EndsPreview {
  head: Preview;
  /** Empty unless the text was too long to show whole. */
  tail: Preview;
  /** Characters between head and tail that are not shown (0: the text is shown whole). */
  omitted: number;
  invisibles: number;
}

/**
 * The start and the end of a text, each at most `maxChars / 2` characters: a payload cannot hide
 * after the visible part. Invisibles anywhere — in the part not shown too — are counted.
 */
export function endsPreviewOf(text: string, maxChars = 2000): EndsPreview {
  const chars = [...text];
  const all = countInvisibles(chars);
  if (chars.length <= maxChars) {
    const head = previewOf(text, maxChars);
    return { head, tail: { text: '', invisibles: 0, truncated: false }, omitted: 0, invisibles: all };
  }
  const half = Math.floor(maxChars / 2);
  const head = previewOf(chars.slice(0, half).join(''), half);
  const tail = previewOf(chars.slice(-half).join(''), half);
  return { head, tail, omitted: chars.length - 2 * half, invisibles: all };
}

function countInvisibles(chars: string[]): number {
  let n = 0;
  for (const ch of chars) if (INVISIBLE.test(ch)) n++;
  return n;
}

/**
 * A preview safe to show in a trusted dialog: invisibles as ⟨U+XXXX⟩ markers, runs of combining
 * marks cut to 2 per character (with the count), at most `maxChars` characters.
 */
export function previewOf(text: string, maxChars = 2000): Preview {
  let out = '';
  let invisibles = 0;
  let combiningRun = 0;
  let hiddenCombining = 0;
  let shown = 0;
  const flushCombining = () => {
    if (hiddenCombining > 0) out += `⟨+${hiddenCombining} marks⟩`;
    hiddenCombining = 0;
  };
  for (const ch of text) {
    if (shown >= maxChars) return { text: out, invisibles, truncated: true };
    // Invisibles first: variation selectors are combining marks too, and must show as markers.
    if (INVISIBLE.test(ch)) {
      flushCombining();
      invisibles++;
      out += invisibleMarker(ch);
      shown++;
      continue;
    }
    if (COMBINING.test(ch)) {
      combiningRun++;
      if (combiningRun > 2) {
        hiddenCombining++;
        continue;
      }
    } else {
      flushCombining();
      combiningRun = 0;
    }
    if (ch === '\t') out += '⇥\t';
    else out += ch;
    shown++;
  }
  flushCombining();
  return { text: out, invisibles, truncated: false };
}

export function lineCount(text: string): number {
  return text.length === 0 ? 0 : text.split('\n').length;
}
