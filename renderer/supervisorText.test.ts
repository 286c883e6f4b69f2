/**
 * What the shell shows of the supervisor's words: its own language only.
 */
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../shared/errors';
import { textFor } from './i18n';
import { errorText, supervisorText } from './supervisorText';

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

describe('supervisor text in a view (a reason, a problem, a detail)', () => {
  it('shows the bilingual text in the shell’s language', () => {
    const reasonText = { fr: 'refusé par l’analyseur : Eicar FOUND', en: 'scanner refused the file: Eicar FOUND' };
    expect(supervisorText('fr', reasonText, reasonText.en)).toBe('refusé par l’analyseur : Eicar FOUND');
    expect(supervisorText('en', reasonText, reasonText.en)).toBe('scanner refused the file: Eicar FOUND');
  });

  it('a view from an older supervisor (English only, no code): the generic French, never the English', () => {
    expect(supervisorText('fr', undefined, 'the device is attached: eject it first')).toBe(textFor('fr').errors.INTERNAL);
    expect(supervisorText('en', undefined, 'the device is attached: eject it first')).toBe('the device is attached: eject it first');
  });

  it('every error code has a French meaning to fall back on', () => {
    for (const code of ERROR_CODES) expect(textFor('fr').errors[code], code).toBeTruthy();
  });
});
