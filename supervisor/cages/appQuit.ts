/**
 * Before a cage stops, its applications are asked to quit as the user would quit them: every window
 * its window manager manages is closed through the window manager (wmctrl's _NET_CLOSE_WINDOW; openbox
 * sends the window WM_DELETE_WINDOW, what its close button does). LibreOffice then closes its
 * documents and clears its recovery list, Firefox writes its session and notes a clean exit: their
 * next start shows no Document Recovery and no session restore. The supervisor waits until no window
 * is left and every program the launcher started has ended — a bounded time (the policy's
 * `appQuitSeconds`): an application asking "save changes?" that nobody answers does not hold the
 * stop, the cage is stopped when the bound has passed and the outcome says how many windows were left.
 *
 * Everything runs in the cage as a cage process, through its launcher (cageLauncher.ts): the cage
 * answers for itself, and a cage that lies about its windows only shortens or lengthens (within the
 * bound) its own stop.
 */
import type { CageLauncher } from './cageLauncher';

export interface AppQuitOutcome {
  /** `all quit`: no window and no launched program left; `timed out`: the bound passed first; `not asked`: no launcher, no window manager. */
  outcome: 'all quit' | 'timed out' | 'not asked';
  /** Windows asked to close. */
  windows: number;
  /** Windows still open when the wait ended. */
  windowsLeft: number;
  /** Programs the launcher started that still ran when the wait ended. */
  programsLeft: number;
  waitedMs: number;
  /** Why the applications were not asked (`not asked`). */
  reason?: string;
}

/** The default bound: long enough for Firefox and LibreOffice to write their state on a busy machine. */
export const DEFAULT_APP_QUIT_SECONDS = 10;

/** Closes every managed window through the window manager; prints how many it asked. */
const CLOSE_ALL = 'command -v wmctrl >/dev/null || exit 3; n=0; for w in $(wmctrl -l | cut -d" " -f1); do wmctrl -i -c "$w" && n=$((n + 1)); done; echo "$n"';
/** The managed windows' ids, one a line. */
const LIST = "xprop -root _NET_CLIENT_LIST 2>/dev/null | sed -n 's/.*# //p' | tr ',' '\\n' | grep -c 0x";
const POLL_MS = 200;

export async function quitCageApps(launcher: CageLauncher | undefined, timeoutMs: number): Promise<AppQuitOutcome> {
  const started = Date.now();
  const notAsked = (reason: string): AppQuitOutcome => ({ outcome: 'not asked', windows: 0, windowsLeft: 0, programsLeft: launcher?.launched().length ?? 0, waitedMs: Date.now() - started, reason });
  if (!launcher?.alive) return notAsked('the cage has no launcher that answers');
  if (timeoutMs <= 0) return notAsked('the policy asks for no wait (appQuitSeconds: 0)');
  const deadline = started + timeoutMs;
  const left = (until: number) => Math.max(100, Math.min(3000, until - Date.now()));
  let windows = 0;
  try {
    const closed = await beforeDeadline(launcher.run({ argv: ['sh', '-c', CLOSE_ALL], timeoutMs: left(deadline) }), deadline);
    if (closed.code === 3) return notAsked('wmctrl is not installed');
    windows = Number.parseInt(closed.stdout.trim(), 10) || 0;
  } catch (err) {
    return notAsked(`the cage did not answer: ${(err as Error).message}`);
  }
  // The last count the cage gave (a count asked too close to the bound may not come).
  let windowsLeft = windows;
  for (;;) {
    const programsLeft = launcher.launched().length;
    const open = await openWindows(launcher, left(deadline));
    if (open >= 0) windowsLeft = open;
    if (open === 0 && programsLeft === 0) return { outcome: 'all quit', windows, windowsLeft: 0, programsLeft: 0, waitedMs: Date.now() - started };
    if (Date.now() >= deadline || !launcher.alive) return { outcome: 'timed out', windows, windowsLeft, programsLeft, waitedMs: Date.now() - started };
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, deadline - Date.now())));
  }
}

/** How many windows the cage's window manager still manages; -1 when the cage did not say. */
async function openWindows(launcher: CageLauncher, timeoutMs: number): Promise<number> {
  try {
    const r = await beforeDeadline(launcher.run({ argv: ['sh', '-c', LIST], timeoutMs }), Date.now() + timeoutMs);
    const n = Number.parseInt(r.stdout.trim(), 10);
    return Number.isFinite(n) ? n : -1;
  } catch {
    return -1;
  }
}

/** The launcher's answer, or a rejection at the deadline: a cage slow to answer (or that never does) does not stretch the bound. */
function beforeDeadline<T>(answer: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer before the bound')), Math.max(0, deadline - Date.now()))));
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}
