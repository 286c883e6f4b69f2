// A Node bundle rewritten in ASCII. esbuild escapes strings but keeps comments (and a regular
// expression's text) as written, and a single "—" (beyond Latin-1) in a comment makes V8 hold the whole source —
// which Node keeps for the process's life — at two bytes a character: 3.9 MiB of the supervisor's
// heap for its 2 MB bundle, 1.9 MiB once in ASCII. A \u escape means the same character in a
// comment, a string, a template, a regular expression or a name.
import { readFileSync, writeFileSync } from 'node:fs';

/** The text with every non-ASCII UTF-16 unit as a \u escape; refuses one after a backslash (`\—` would become `\\u2014`). */
export function asciiSource(text, name = 'the bundle') {
  return text.replace(/[^\x00-\x7f]/g, (c, at) => {
    if (text[at - 1] === '\\') throw new Error(`${name}: a non-ASCII character after a backslash at ${at}, which a \\u escape would change`);
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** Rewrites a bundle in place when it holds anything outside ASCII. */
export function asciiBundle(file) {
  const text = readFileSync(file, 'utf8');
  const escaped = asciiSource(text, file);
  if (escaped !== text) writeFileSync(file, escaped);
}
