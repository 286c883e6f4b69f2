/**
 * What the shell shows of the supervisor's words: its own language only.
 */
import { describe, expect, it } from 'vitest';
import { errorText } from './supervisorText';

describe('supervisor text in the shell', () => {
  it('shows the supervisor’s text in the shell’s language when it gave both', () => {
    const err = { code: 'LIMIT_EXCEEDED', message: 'Nothing to copy', text: { fr: 'Rien à copier', en: 'Nothing to copy' } };
    expect(errorText('fr', err)).toBe('Rien à copier');
    expect(errorText('en', err)).toBe('Nothing to copy');
  });

  it('never shows English-only text in a French shell: the code’s meaning instead', () => {
    expect(errorText('fr', { code: 'SESSION_LOCKED', message: 'focus.set: the workstation is locked' })).toBe('Le poste est verrouillé');
    expect(errorText('fr', { code: 'SOMETHING_NEW', message: 'x' })).toBe('Erreur interne du superviseur');
    expect(errorText('en', { code: 'SESSION_LOCKED', message: 'focus.set: the workstation is locked' })).toBe('focus.set: the workstation is locked');
  });
});
