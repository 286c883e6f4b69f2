/**
 * The X classes of the windows open in a cage, as its window manager lists them
 * (_NET_CLIENT_LIST), read by a cage process through the cage's launcher. The launcher counts an
 * application's open windows with them: Firefox and LibreOffice run one process per user, so a
 * second window (or Calc opened beside Writer) starts a process that hands over to the first and
 * ends — counting processes alone would show one Firefox for two windows and no Calc at all.
 * A cage answers for itself: a lie changes only its own counts.
 */
import type { RunningCage } from '../cages/cageDriver';
import { run } from '../cages/cageLauncher';

/** Each managed window's WM_CLASS line (instance and class), one a line. */
const LIST = `for w in $(xprop -root _NET_CLIENT_LIST 2>/dev/null | sed -n 's/.*# //p' | tr ',' ' '); do xprop -id "$w" WM_CLASS 2>/dev/null | head -1; done`;
const MAX_WINDOWS = 256;
const TIMEOUT_MS = 3000;

/** Each window's class names (instance and class); null when the cage could not be asked. */
export async function windowClassesOf(cage: RunningCage): Promise<string[][] | null> {
  if (!cage.launcher?.alive) return null;
  try {
    const r = await run(cage, { argv: ['sh', '-c', LIST], timeoutMs: TIMEOUT_MS });
    if (r.code !== 0) return null;
    return r.stdout
      .split('\n')
      .slice(0, MAX_WINDOWS)
      .map((line) => [...line.matchAll(/"([^"\\]{1,128})"/g)].map((m) => m[1]!))
      .filter((names) => names.length > 0);
  } catch {
    return null;
  }
}

/** How many of the windows carry `windowClass` as their instance or class name. */
export function windowsOfClass(windows: readonly string[][], windowClass: string): number {
  return windows.filter((names) => names.includes(windowClass)).length;
}
