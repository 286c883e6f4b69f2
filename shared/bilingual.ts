/**
 * Text the supervisor writes for people, in both of the shell's languages: the renderer shows the
 * one it speaks. The supervisor never guesses the reader's language; it says everything twice.
 */
import { z } from 'zod';

export const LOCALES = ['fr', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

export const bilingualSchema = z.object({ fr: z.string().max(1000), en: z.string().max(1000) });
export type Bilingual = z.infer<typeof bilingualSchema>;

export function bilingual(fr: string, en: string): Bilingual {
  return { fr, en };
}
