/**
 * Where the sound part's descriptors come from when the root cage manager opens them (the
 * supervisor is the unprivileged `cloison` part, issue #29): implemented by
 * cageManager/managerSoundEnds.ts, asked by soundPart.ts. Each is a descriptor this side passes
 * on to the sound part unread, then closes.
 */
/** A cage's FIFOs: `out` its playback (read), `mic` its microphone (write) where the policy gives it. */
export interface SoundFifoEnds {
  out: number;
  mic: number | null;
}

/** What the sound part's root side asks for its descriptors (soundPart.ts), when a manager opens them. */
export interface RemoteSoundEnds {
  fifos(level: string): Promise<SoundFifoEnds>;
  /** The host player's standard input and its reports (standard error). */
  player(level: string): Promise<{ in: number; reports: number }>;
  /** The host recorder's output: the microphone. */
  recorder(level: string): Promise<number>;
  /**
   * Ends the level's host player or recorder at the manager. `sound.host` has no stop: a new request
   * ends the previous program, and the new one's ends are closed here unread, so it ends too.
   */
  stop(level: string, direction: 'playback' | 'record'): Promise<void>;
}

