/**
 * Text the supervisor writes for people, in both of the shell's languages: the renderer shows the
 * one it speaks. The supervisor never guesses the reader's language; it says everything twice.
 */
import { z } from 'zod';

export const LOCALES = ['fr', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

// Pure: a bundle that never validates a Bilingual (the sound part) carries no zod.
export const bilingualSchema = /* @__PURE__ */ z.object({ fr: /* @__PURE__ */ z.string().max(1000), en: /* @__PURE__ */ z.string().max(1000) });
export type Bilingual = z.infer<typeof bilingualSchema>;

export function bilingual(fr: string, en: string): Bilingual {
  return { fr, en };
}
