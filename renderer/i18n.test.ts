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
});
