/**
 * SIGHUP while the cage manager starts: its default ends the process, and an administrator's
 * reload (the unit's ExecReload) sent then would end the manager, its cages with it (seen:
 * managerStartHup.test.ts). Held from the program's first line (managerEntry.ts, or managerMain.ts
 * run alone) until the reload can run, then run once if one came.
 */
type Hold = { came: boolean; listener: () => void };
/**
 * Kept on the process, not in this module: the manager's entry holds, its main (another bundle,
 * codeCache/) releases, and a SIGHUP between the two must not be lost.
 */
const HELD = Symbol.for('cloison.managerHupHold');
const holder = process as NodeJS.Process & { [HELD]?: Hold };

/** Holds SIGHUP from now on (once per process: a second call keeps the first hold). */
export function holdHup(): void {
  if (holder[HELD]) return;
  const hold: Hold = { came: false, listener: () => void (hold.came = true) };
  holder[HELD] = hold;
  process.on('SIGHUP', hold.listener);
}

/** SIGHUP goes to `onHup` from now on; one that came while held is run now. */
export function releaseHup(onHup: () => void): void {
  holdHup();
  const hold = holder[HELD]!;
  // The new listener first: removing the last one puts SIGHUP back to its default, which ends the process.
  process.on('SIGHUP', onHup).off('SIGHUP', hold.listener);
  if (hold.came) onHup();
}
