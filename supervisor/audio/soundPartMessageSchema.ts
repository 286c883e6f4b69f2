/**
 * The schema every message from the sound part is parsed against on the root part's side
 * (soundPartMessages.ts says why). Root-side only: the part's bundle carries no zod.
 */
import { z } from 'zod';
import { LEVEL_ID } from '../../shared/policy';
import type { SoundPartToRoot } from './soundPartMessages';

const level = z.string().regex(LEVEL_ID);

export const soundPartToRootSchema = z.discriminatedUnion('type', [
  /** Restricted and listening to the channel: descriptors may come. */
  z.object({ type: z.literal('ready') }).strict(),
  /** Whether a level plays, measured on what flows (not silence). */
  z.object({ type: z.literal('playing'), level, playing: z.boolean() }).strict(),
  /** Sound came for a level with no host stream: it asks for one. */
  z.object({ type: z.literal('player.want'), level }).strict(),
  z.object({ type: z.literal('failed'), error: z.string().max(2000) }).strict(),
]);

// The part's side is typed by hand (soundPartMessages.ts): the two must agree.
const agrees: z.infer<typeof soundPartToRootSchema> extends SoundPartToRoot ? (SoundPartToRoot extends z.infer<typeof soundPartToRootSchema> ? true : false) : false = true;
void agrees;
