/**
 * The language a cage's applications speak: the shell's (the policy's `locale`, else the
 * workstation's: policy/shellLocale.ts), so a French user's Firefox, LibreOffice, Mousepad and
 * PCManFM show French menus and dialogs, not the English of the C locale cages were given before.
 *
 * LANG is a locale of that language the host has generated (`locale -a`) and in UTF-8 — the host's
 * own LANG when it is one, else fr_FR.UTF-8 or en_US.UTF-8 —: a locale the C library lacks would
 * leave a program in the 8-bit "C" locale (xterm then draws neither € nor œ). Without one, LANG stays
 * C.UTF-8 and LANGUAGE (which gettext reads even then) still gives the programs that use gettext
 * (GTK's, Mousepad, PCManFM) their French. LibreOffice and Firefox need their French packages
 * (libreoffice-l10n-fr, firefox-esr-l10n-fr: scripts/setup.sh installs them).
 */
import { execFile } from 'node:child_process';
import type { Locale } from '../../shared/bilingual';
import { localeOfName } from '../policy/shellLocale';

/** The locale each language falls back to when the host's own LANG is not one of it. */
const DEFAULT_NAME: Record<Locale, string> = { fr: 'fr_FR.UTF-8', en: 'en_US.UTF-8' };

/** `fr_FR.UTF-8` and `fr_FR.utf8` are the same locale: as `locale -a` lists them, lower case. */
function normalised(name: string): string {
  return name.trim().toLowerCase().replace(/\.utf-?8/, '.utf8');
}

/** Whether a locale name asks for UTF-8 (`fr_FR.UTF-8`, `fr_FR.utf8@euro`). */
function isUtf8(name: string): boolean {
  return /\.utf-?8(@|$)/i.test(name);
}

export interface CageLanguage {
  LANG: string;
  LANGUAGE: string;
}

/**
 * The cage's LANG and LANGUAGE for the shell's language, given the host's LANG and the locales the
 * host has (as `locale -a` names them).
 */
export function cageLanguage(locale: Locale, hostLang: string | undefined, installed: ReadonlySet<string>): CageLanguage {
  const have = new Set([...installed].map(normalised));
  const candidates = [hostLang, DEFAULT_NAME[locale]].filter((n): n is string => !!n && localeOfName(n) === locale && isUtf8(n) && /^[A-Za-z0-9_.@-]+$/.test(n));
  const found = candidates.find((n) => have.has(normalised(n)));
  return { LANG: found ?? 'C.UTF-8', LANGUAGE: locale };
}

let hostLocales: Promise<ReadonlySet<string>> | undefined;

/**
 * The locales the host has generated (`locale -a`), read once for the process's life, off the
 * event loop (the cage manager starts both cages at once: #26); none when it cannot be run.
 */
export function installedLocales(): Promise<ReadonlySet<string>> {
  hostLocales ??= new Promise((resolve) => {
    execFile('locale', ['-a'], { encoding: 'utf8', timeout: 5000, env: { PATH: '/usr/bin:/bin' } }, (err, stdout) => {
      resolve(new Set(err ? [] : stdout.split('\n').filter(Boolean)));
    });
  });
  return hostLocales;
}

/** bwrap's --setenv arguments for the cage's language, given the host's locales (installedLocales()). */
export function cageLanguageArgs(locale: Locale, installed: ReadonlySet<string>, hostLang = process.env.LANG): string[] {
  const { LANG, LANGUAGE } = cageLanguage(locale, hostLang, installed);
  return ['--setenv', 'LANG', LANG, '--setenv', 'LANGUAGE', LANGUAGE];
}
