/**
 * SIGHUP while the cage manager starts: its default ends the process, and an administrator's
 * reload (the unit's ExecReload) sent then would end the manager, its cages with it (seen:
 * managerStartHup.test.ts). Held from the program's first line (managerEntry.ts, or managerMain.ts
 * run alone) until the reload can run, then run once if one came.
 */
let held: { came: boolean; listener: () => void } | null = null;

/** Holds SIGHUP from now on (once per process: a second call keeps the first hold). */
export function holdHup(): void {
  if (held) return;
  const hold = { came: false, listener: () => void (hold.came = true) };
  held = hold;
  process.on('SIGHUP', hold.listener);
}

/** SIGHUP goes to `onHup` from now on; one that came while held is run now. */
export function releaseHup(onHup: () => void): void {
  holdHup();
  const hold = held!;
  // The new listener first: removing the last one puts SIGHUP back to its default, which ends the process.
  process.on('SIGHUP', onHup).off('SIGHUP', hold.listener);
  if (hold.came) onHup();
}
