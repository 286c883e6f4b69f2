/**
 * Device-supplied strings (label, vendor, product, serial) are attacker-chosen: a key can carry
 * escape sequences, bidi overrides, `../` or hundreds of characters. These helpers make them safe
 * to show in a trusted dialog and to use as one folder name.
 */
import { invisibleMarker, NAME_HIDING_CHARACTERS, previewOf } from '../../shared/clipboardText';

const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/** For display: controls and invisibles as ⟨U+XXXX⟩, at most `maxChars` characters then "…". */
export function displayField(value: string, maxChars = 96): string {
  const visible = value.replace(CONTROLS, invisibleMarker);
  const { text, truncated } = previewOf(visible, maxChars);
  return truncated ? `${text}…` : text;
}

const MEDIA_NAME_MAX = 48;
// Controls, invisibles/bidi, path separators and characters file managers choke on.
const UNSAFE_IN_NAME = new RegExp(`[${NAME_HIDING_CHARACTERS}/\\\\:*?"<>|]`, 'gu');

/**
 * The folder a device appears under in ~/Media: one path component, never `.`/`..`, never hidden,
 * unique among `taken`; `fallback` when the label leaves nothing usable.
 */
export function mediaDirName(label: string | null, fallback: string, taken: ReadonlySet<string>): string {
  let base = (label ?? '').replace(UNSAFE_IN_NAME, '_').replace(/^[\s.]+/, '').trim();
  base = [...base].slice(0, MEDIA_NAME_MAX).join('').trim();
  if (base.length === 0 || /^_+$/.test(base)) base = fallback;
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base} (${n})`;
  return name;
}
