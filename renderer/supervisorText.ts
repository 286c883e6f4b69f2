/**
 * The shell's words for what the supervisor said: its own text in the shell's language when it gave
 * both, else (for a message it wrote in English only) what the error's code means in French, never
 * English text in a French shell. The English original stays available to an administrator.
 */
import type { Bilingual } from '../shared/bilingual';
import type { Locale } from './store/shellStore';
import { textFor } from './i18n';

export function supervisorText(locale: Locale, text: Bilingual | undefined, english: string, code?: string): string {
  if (text) return text[locale];
  if (locale === 'en') return english;
  const errors = textFor(locale).errors;
  return errors[code ?? 'INTERNAL'] ?? errors.INTERNAL ?? english;
}

/** An RPC failure (RpcCallError: code, English message, maybe both languages) in the shell's words. */
export function errorText(locale: Locale, err: unknown): string {
  const e = err as { code?: string; message?: string; text?: Bilingual };
  return supervisorText(locale, e.text, e.message ?? String(err), e.code);
}
