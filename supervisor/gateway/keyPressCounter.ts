/**
 * Keys the gateway delivered to each cage, counted on the trusted side: a training drill's "keys
 * typed into the look-alike" is the difference of two readings, never a figure the cage reports.
 * Only presses are counted, and modifiers alone are not keystrokes (Shift, Control, AltGr…): typing
 * "motdepasse" and Enter is eleven, whatever the layout.
 */

/** Modifier and lock keysyms (X11 keysymdef.h): pressed with a key, never typed on their own. */
const MODIFIERS: ReadonlySet<number> = new Set([
  0xffe1, 0xffe2, // Shift_L, Shift_R
  0xffe3, 0xffe4, // Control_L, Control_R
  0xffe5, 0xffe6, // Caps_Lock, Shift_Lock
  0xffe7, 0xffe8, 0xffe9, 0xffea, // Meta_L, Meta_R, Alt_L, Alt_R
  0xffeb, 0xffec, 0xffed, 0xffee, // Super_L, Super_R, Hyper_L, Hyper_R
  0xfe03, 0xfe11, 0xff7e, 0xff7f, // ISO_Level3_Shift (AltGr), ISO_Level5_Shift, Mode_switch, Num_Lock
]);

export class KeyPressCounter {
  private readonly counts = new Map<string, number>();

  /** Called for every key event the gateway forwards to `level`'s cage. */
  delivered(level: string, keysym: number, down: boolean): void {
    if (!down || MODIFIERS.has(keysym)) return;
    this.counts.set(level, (this.counts.get(level) ?? 0) + 1);
  }

  /** Keys delivered to that cage since the supervisor started. */
  total(level: string): number {
    return this.counts.get(level) ?? 0;
  }
}
