/** Counts in the shell's text take their word in each language's plural rule: « 1 fichier », not « 1 fichiers ». */
import { describe, expect, it } from 'vitest';
import { counted, textFor } from './i18n';

describe('counted', () => {
  it('French: 0 and 1 singular, 2 and more plural', () => {
    const t = textFor('fr');
    expect([0, 1, 2, 28].map((n) => counted(t, n, t.file, t.files))).toEqual(['0 fichier', '1 fichier', '2 fichiers', '28 fichiers']);
    expect(counted(t, 1, t.line, t.lines)).toBe('1 ligne');
  });
  it('English: 1 singular, 0 and 2 plural', () => {
    const t = textFor('en');
    expect([0, 1, 2].map((n) => counted(t, n, t.line, t.lines))).toEqual(['0 lines', '1 line', '2 lines']);
    expect(counted(t, 1, t.byte, t.bytes)).toBe('1 byte');
  });
  it('every count with a singular form says it for 1, both languages (issue #26: « 1 pages »)', () => {
    for (const locale of ['fr', 'en'] as const) {
      const t = textFor(locale);
      const pairs: [string, string][] = [
        [t.onePage, t.pages], [t.byte, t.bytes], [t.file, t.files], [t.line, t.lines], [t.hiddenOne, t.hiddenMany],
        [t.strippedOne, t.strippedNote], [t.invisiblesOne, t.invisiblesNote], [t.omittedOne, t.omittedNote], [t.lock.failure, t.lock.failures],
      ];
      for (const [one, many] of pairs) {
        expect(counted(t, 1, one, many)).toBe(`1 ${one}`);
        expect(counted(t, 3, one, many)).toBe(`3 ${many}`);
        expect(one).not.toMatch(/\(s\)/);
      }
    }
    expect(counted(textFor('fr'), 1, textFor('fr').onePage, textFor('fr').pages)).toBe('1 page');
    expect(counted(textFor('fr'), 1, textFor('fr').lock.failure, textFor('fr').lock.failures)).toBe('1 échec depuis le verrouillage');
    expect(counted(textFor('en'), 2, textFor('en').lock.failure, textFor('en').lock.failures)).toBe('2 failures since the lock');
  });
  it('French keeps the singular below 2 (a fraction too), as Intl.PluralRules says', () => {
    const t = textFor('fr');
    expect([0, 1, 1.5, 2, 1_000_000].map((n) => t.singular(n))).toEqual([true, true, true, false, false]);
    expect([0, 1, 2].map((n) => textFor('en').singular(n))).toEqual([false, true, false]);
  });
});
