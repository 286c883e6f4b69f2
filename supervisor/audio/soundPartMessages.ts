/**
 * The messages between the root part and the sound part (soundPartMain.ts) over its channel
 * (sandbox/partChannel.ts).
 *
 * From the sound part: untrusted. It reads every byte the cages write into their sound, so a bug
 * there is a cage's foothold; each message is parsed against a closed schema (`.strict()`, level
 * ids as the policy's) before the root part acts on it, and one that does not parse is dropped
 * and counted. What it can obtain: a host playback stream for a level the root part lets play now
 * (attached, not muted, the host's server reached), one at a time; nothing for the microphone,
 * which only the broker's decision starts. What it can say: whether a level plays (its
 * measure: the band's indicator believes it).
 *
 * Types only: the part's bundle carries no zod; the root part parses with soundPartMessageSchema.ts.
 *
 * To the sound part: the root part's own, typed here and not re-checked there. A descriptor
 * travels before its message (SCM_RIGHTS, on the channel's descriptor socket): the cage's FIFO ends, the host streams' pipe ends.
 */
/** What the sound part may send, parsed on the root part's side (soundPartMessageSchema.ts). */
export type SoundPartToRoot =
  /** Restricted and listening to the channel: descriptors may come. */
  | { type: 'ready' }
  /** Whether a level plays, measured on what flows (not silence). */
  | { type: 'playing'; level: string; playing: boolean }
  /** Sound came for a level with no host stream: it asks for one. */
  | { type: 'player.want'; level: string }
  | { type: 'failed'; error: string };

/** What the sound part needs to start, read from its environment as JSON. */
export const SOUND_PART_START_ENV = 'CLOISON_SOUND_PART';
export interface SoundPartStart {
  /** Who the part becomes (null: it already runs unprivileged and stays that user). */
  account: { uid: number; gid: number } | null;
}

export type RootToSoundPart =
  /** With the FIFO's descriptor: `out` the cage's playback (read), `mic` its microphone (write). */
  | { type: 'fifo'; level: string; direction: 'out' | 'mic' }
  /** Once its FIFOs have been sent: relay that level, at that setting. */
  | { type: 'attach'; level: string; muted: boolean; volume: number }
  | { type: 'detach'; level: string }
  | { type: 'settings'; level: string; muted: boolean; volume: number }
  | { type: 'host'; usable: boolean }
  /** With the host player's descriptor: `in` its standard input (write), `reports` its standard error (read). */
  | { type: 'player'; level: string; end: 'in' | 'reports' }
  /** With the host recorder's standard output (read): the microphone, for that level now. */
  | { type: 'recorder'; level: string };
