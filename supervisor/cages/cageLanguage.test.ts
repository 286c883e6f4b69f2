/**
 * The cage's applications speak the shell's language: LANG a UTF-8 locale of it the host has (the
 * host's own first), else C.UTF-8; LANGUAGE always, for gettext. And the openbox rule that makes
 * every application window fill the cage's screen.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cageLanguage, cageLanguageArgs, installedLocales } from './cageLanguage';
import { firefoxPolicies, MAXIMIZED_RULE, withMaximizedWindows } from './cageAppSettings';

const HOST = new Set(['C', 'C.utf8', 'POSIX', 'fr_FR.utf8', 'fr_CA.utf8', 'en_US.utf8', 'fr_BE']);

describe('cageLanguage', () => {
  it("gives the host's own locale when it is of the shell's language, installed and UTF-8", () => {
    expect(cageLanguage('fr', 'fr_CA.UTF-8', HOST)).toEqual({ LANG: 'fr_CA.UTF-8', LANGUAGE: 'fr' });
  });
  it('falls back to the language’s usual locale: another language on the host, an 8-bit or a missing one', () => {
    expect(cageLanguage('fr', 'en_GB.UTF-8', HOST)).toEqual({ LANG: 'fr_FR.UTF-8', LANGUAGE: 'fr' });
    expect(cageLanguage('fr', 'fr_BE', HOST)).toEqual({ LANG: 'fr_FR.UTF-8', LANGUAGE: 'fr' });
    expect(cageLanguage('fr', 'fr_CH.UTF-8', HOST)).toEqual({ LANG: 'fr_FR.UTF-8', LANGUAGE: 'fr' });
    expect(cageLanguage('en', undefined, HOST)).toEqual({ LANG: 'en_US.UTF-8', LANGUAGE: 'en' });
  });
  it('keeps C.UTF-8 where the host has no locale of the language, and LANGUAGE still says it', () => {
    expect(cageLanguage('fr', 'fr_FR.UTF-8', new Set(['C', 'C.utf8', 'POSIX']))).toEqual({ LANG: 'C.UTF-8', LANGUAGE: 'fr' });
    expect(cageLanguage('en', 'en_US.UTF-8', new Set())).toEqual({ LANG: 'C.UTF-8', LANGUAGE: 'en' });
  });
  it('never passes on a strange host value', () => {
    expect(cageLanguage('fr', 'fr_FR.UTF-8;x', new Set(['fr_FR.utf8;x', 'fr_FR.utf8']))).toEqual({ LANG: 'fr_FR.UTF-8', LANGUAGE: 'fr' });
  });
});

describe('withMaximizedWindows', () => {
  it('puts the rule first in the host’s <applications>', () => {
    const rc = '<openbox_config>\n<keyboard/>\n<applications>\n  <application name="x"/>\n</applications>\n</openbox_config>\n';
    expect(withMaximizedWindows(rc)).toBe(`<openbox_config>\n<keyboard/>\n<applications>\n${MAXIMIZED_RULE}\n  <application name="x"/>\n</applications>\n</openbox_config>\n`);
  });
  it('makes an <applications> where there is none or an empty one', () => {
    expect(withMaximizedWindows('<openbox_config>\n</openbox_config>\n')).toBe(`<openbox_config>\n<applications>\n${MAXIMIZED_RULE}</applications>\n</openbox_config>\n`);
    expect(withMaximizedWindows('<openbox_config><applications/></openbox_config>')).toBe(`<openbox_config><applications>\n${MAXIMIZED_RULE}</applications></openbox_config>`);
  });
});

describe('firefoxPolicies', () => {
  it("asks Firefox for the cage's language (it reads its own preference, not LANG), en-US behind", () => {
    expect(firefoxPolicies('fr').policies.RequestedLocales).toEqual(['fr', 'en-US']);
    expect(firefoxPolicies('en').policies.RequestedLocales).toEqual(['en-US']);
    expect(firefoxPolicies('fr').policies.DisableTelemetry).toBe(true);
  });
});

describe('the host\'s locales', () => {
  it('are what `locale -a` lists, read once for the process (off the event loop: #26)', async () => {
    const listed = execFileSync('locale', ['-a'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }).split('\n').filter(Boolean);
    const first = installedLocales();
    expect(installedLocales()).toBe(first);
    expect([...(await first)].sort()).toEqual(listed.sort());
    expect(cageLanguageArgs('fr', HOST, 'en_GB.UTF-8')).toEqual(['--setenv', 'LANG', 'fr_FR.UTF-8', '--setenv', 'LANGUAGE', 'fr']);
  });
});
