/**
 * Clipboard text as the broker handles it: decoded strictly as UTF-8, stripped of NUL and C0
 * controls (tab and newline kept), and previewed with every invisible or direction-changing
 * character made visible, so what the user confirms is what crosses.
 */

export type DecodeResult = { ok: true; text: string; stripped: number } | { ok: false; reason: 'not-utf8' | 'binary' };

// C0 controls except tab (09) and newline (0a), and DEL.
const STRIPPED = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

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
 * Characters that must never reach a name shown or created by the supervisor: C0/C1 controls,
 * soft hyphen, bidi marks and overrides, zero-width characters, BOM. A regex class body.
 */
export const NAME_HIDING_CHARACTERS = '\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2069\\ufeff';

/** How an invisible character is shown: ⟨U+202E⟩. */
export function invisibleMarker(ch: string): string {
  return `⟨U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`;
}

/** Characters that change how text reads without showing: bidi controls, zero-width, BOM. */
const INVISIBLE = /[\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\u3164\ufeff\ufff9-\ufffb]/u;
const COMBINING = /\p{M}/u;

export interface Preview {
  text: string;
  /** Invisible or direction-changing characters shown as ⟨U+XXXX⟩. */
  invisibles: number;
  truncated: boolean;
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
    if (INVISIBLE.test(ch)) {
      invisibles++;
      out += invisibleMarker(ch);
    } else if (ch === '\t') out += '⇥\t';
    else out += ch;
    shown++;
  }
  flushCombining();
  return { text: out, invisibles, truncated: false };
}

export function lineCount(text: string): number {
  return text.length === 0 ? 0 : text.split('\n').length;
}
