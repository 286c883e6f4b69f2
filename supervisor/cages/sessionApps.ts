/**
 * A cage's configured applications start the one way anything starts in a cage: through its
 * launcher (cageLauncher.ts), as true cage processes. They start once the window manager owns the
 * screen (asked of the cage, by a cage process), so it manages and focuses them.
 */
import type { CageLauncher } from './cageLauncher';

/** The root window property the cage's openbox sets once its event loop runs (its startup command). */
export const WM_RUNNING_PROPERTY = '_CLOISON_WM_RUNNING';

/**
 * The cage's window manager as its session starts it. Openbox 3.6 leaves a window mapped while it
 * starts unmapped: the map request, read into its own queue by a start step, waits there while its
 * loop watches only the X socket, until some other event reaches it (a test's PDF viewer waited 60 s
 * for its window). Its startup command runs as the loop starts: the root property it sets is such an
 * event, and says the window manager now maps what asks.
 */
export const WINDOW_MANAGER_ARGV = ['openbox', '--startup', `xprop -root -f ${WM_RUNNING_PROPERTY} 8s -set ${WM_RUNNING_PROPERTY} yes`];

/**
 * Waits (5 s at most) until the window manager runs its loop: the root window's properties watched
 * (`xprop -spy` prints them all, then each change), not polled — a property asked by name before
 * its atom exists is never reported later, and "no such atom on any window" is no announcement (it
 * once passed for one). Its `_NET_SUPPORTING_WM_CHECK` comes earlier, in the middle of its start.
 */
export const WM_READY = `f="/tmp/.cloison-wm-ready.$$"; rm -f "$f"; if mkfifo -m 600 "$f"; then timeout 5 xprop -spy -root >"$f" 2>/dev/null & p=$!; grep -q -m1 "^${WM_RUNNING_PROPERTY}(" <"$f"; kill "$p" 2>/dev/null; rm -f "$f"; fi`;
/**
 * Waits (2 s at most, as the session did) until the cage's sound server listens, when it has one:
 * the session starts it beside the window manager rather than before it, and the applications find
 * it there from their first sound.
 */
const SOUND_READY = 'p="${PULSE_SERVER#unix:}"; i=0; while [ -n "$PULSE_SERVER" ] && [ ! -S "$p" ] && [ "$i" -lt 40 ]; do i=$((i + 1)); sleep 0.05; done';

/**
 * `before`: what must be done before any application starts (LibreOffice's profile seeded), done
 * while the session is waited for rather than before it. The log says how long each wait was.
 */
export async function startSessionApps(launcher: CageLauncher, apps: readonly (readonly string[])[], withWindowManager: boolean, log?: (msg: string, fields?: Record<string, unknown>) => void, before: Promise<void> = Promise.resolve()): Promise<void> {
  if (apps.length === 0) return before;
  const started = Date.now();
  // Each wait's milliseconds said on stdout, for the log.
  const script = `t0=$(date +%s%3N); since() { echo "$1 $(( $(date +%s%3N) - t0 ))"; }; ${withWindowManager ? `${WM_READY}; since wm; ` : ''}${SOUND_READY}; since sound`;
  const ready = launcher
    .run({ argv: ['sh', '-c', script], timeoutMs: 8000 })
    .then((r) => r.stdout)
    .catch(() => '');
  const [said] = await Promise.all([ready, before]);
  const step = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(said)?.[1] ?? NaN);
  log?.('session applications starting', { waitedMs: Date.now() - started, windowManagerMs: step('wm'), soundMs: step('sound') });
  for (const argv of apps) {
    try {
      await launcher.launch({ argv: [...argv] });
    } catch (err) {
      log?.('app did not start', { app: argv[0], error: (err as Error).message });
    }
  }
}
