/**
 * The Node bundles rewritten in ASCII (asciiBundle.mjs): the program means the same — comments,
 * strings, templates, regular expressions and names beyond ASCII — and a case the escape would
 * change is refused rather than rewritten.
 */
import { describe, expect, it } from 'vitest';
import { asciiSource } from './asciiBundle.mjs';

const PROGRAM = String.raw`
// Un commentaire — avec « guillemets » → et …
const café = 'été — 10 × 2 → ok';
const template = ${'`'}dit « ${'$'}{café} » 🔒${'`'};
const dash = /^eject again — (.*)$/s;
const lock = /^🔒+$/u;
const chars = /[—–]/g;
return [café, template, dash.exec('eject again — now')?.[1], lock.test('🔒🔒'), 'a–b—c'.replace(chars, '-'), café.length, template.length];
`;

describe('a bundle in ASCII', () => {
  it('is ASCII and computes the same values as the original', () => {
    const ascii = asciiSource(PROGRAM);
    expect(/[^\x00-\x7f]/.test(ascii)).toBe(false);
    expect(ascii).toContain('\\u2014');
    const run = (source: string) => new Function(source)() as unknown[];
    const before = run(PROGRAM);
    expect(before).toEqual(['été — 10 × 2 → ok', 'dit « été — 10 × 2 → ok » 🔒', 'now', true, 'a-b-c', 17, 28]);
    expect(run(ascii)).toEqual(before);
  });

  it('refuses a non-ASCII character after a backslash, which the escape would turn into a backslash and text', () => {
    expect(() => asciiSource("const s = /\\—/;", 'out/x.js')).toThrow(/out\/x\.js: a non-ASCII character after a backslash at 12/);
  });

  it('leaves an ASCII source as it is', () => {
    const source = "const s = 'plain';\n";
    expect(asciiSource(source)).toBe(source);
  });
});
