/**
 * The language the shell speaks: the policy's `locale`, else the workstation's locale as the
 * supervisor reads it (LC_ALL, LC_MESSAGES, LANG, as POSIX orders them; for a service started with
 * an empty environment, /etc/default/locale). Never the browser's: a page that trusted
 * navigator.language showed English to French users of a Chromium shipped with en-US alone.
 * French is the default: anything that is not English.
 */
import { readFileSync } from 'node:fs';
import type { Locale } from '../../shared/bilingual';
import type { Policy } from '../../shared/policy';

/** `fr_FR.UTF-8` → fr, `en_GB.UTF-8` → en; C, POSIX and unknown languages → null (no opinion). */
export function localeOfName(name: string | undefined): Locale | null {
  const language = /^([a-z]{2,3})(?:[_.@-]|$)/i.exec(name?.trim() ?? '')?.[1]?.toLowerCase();
  return language === 'fr' || language === 'en' ? language : null;
}

/** The host's language from an environment, then from /etc/default/locale's text. */
export function hostLocale(env: NodeJS.ProcessEnv, defaultLocaleFile: string | null): Locale | null {
  // The first variable that is set decides, even if it names a language the shell does not speak.
  const set = [env.LC_ALL, env.LC_MESSAGES, env.LANG].find((v) => v !== undefined && v !== '');
  if (set !== undefined) return localeOfName(set);
  if (defaultLocaleFile === null) return null;
  const vars = new Map<string, string>();
  for (const line of defaultLocaleFile.split('\n')) {
    const m = /^\s*(?:export\s+)?(LC_ALL|LC_MESSAGES|LANG)\s*=\s*["']?([^"'\s]*)/.exec(line);
    if (m) vars.set(m[1]!, m[2]!);
  }
  const fromFile = ['LC_ALL', 'LC_MESSAGES', 'LANG'].map((k) => vars.get(k)).find((v) => v);
  return localeOfName(fromFile);
}

function readDefaultLocale(): string | null {
  try {
    return readFileSync('/etc/default/locale', 'utf8');
  } catch {
    return null;
  }
}

let host: Locale | null | undefined;

/** The shell's language under this policy (the host's read once: it is the supervisor's start-up environment). */
export function shellLocale(policy: Pick<Policy, 'locale'>, readHost: () => Locale | null = () => (host === undefined ? (host = hostLocale(process.env, readDefaultLocale())) : host)): Locale {
  return policy.locale ?? readHost() ?? 'fr';
}
