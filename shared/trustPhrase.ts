/**
 * The user's trust phrase: chosen once, shown by the shell in the band and in every trusted
 * dialog, never sent to a cage. A fake band or dialog painted by a cage cannot show it.
 */
import { z } from 'zod';

/** Shapes a user may pick as their trust symbol (plain glyphs, present in DejaVu Sans). */
export const TRUST_SYMBOLS = ['◆', '●', '▲', '■', '★', '♣', '♠', '♥', '✚', '☀'] as const;

// Control characters, bidi overrides and invisible formatting: a phrase must read as it looks.
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/u;

export const trustPhraseSchema = z
  .string()
  .transform((s) => s.trim().normalize('NFC'))
  .pipe(
    z
      .string()
      .min(4, 'the trust phrase needs at least 4 characters')
      .max(60, 'the trust phrase may have at most 60 characters')
      .refine((s) => !INVISIBLE.test(s), 'the trust phrase may not contain control or invisible characters'),
  );

export const trustSymbolSchema = z.enum(TRUST_SYMBOLS);

export const trustSettingSchema = z.object({ phrase: trustPhraseSchema, symbol: trustSymbolSchema.nullable() }).strict();
export type TrustSetting = z.infer<typeof trustSettingSchema>;
