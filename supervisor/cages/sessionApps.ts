/**
 * A cage's configured applications start the one way anything starts in a cage: through its
 * launcher (cageLauncher.ts), as true cage processes. They start once the window manager owns the
 * screen (asked of the cage, by a cage process), so it manages and focuses them.
 */
import type { CageLauncher } from './cageLauncher';

/** Waits (5 s at most) until a window manager has announced itself on the cage's display. */
const WM_READY = 'i=0; while ! xprop -root _NET_SUPPORTING_WM_CHECK 2>/dev/null | grep -q window && [ "$i" -lt 100 ]; do i=$((i + 1)); sleep 0.05; done';
/**
 * Waits (2 s at most, as the session did) until the cage's sound server listens, when it has one:
 * the session starts it beside the window manager rather than before it, and the applications find
 * it there from their first sound.
 */
const SOUND_READY = 'p="${PULSE_SERVER#unix:}"; i=0; while [ -n "$PULSE_SERVER" ] && [ ! -S "$p" ] && [ "$i" -lt 40 ]; do i=$((i + 1)); sleep 0.05; done';

/**
 * `before`: what must be done before any application starts (LibreOffice's profile seeded), done
 * while the session is waited for rather than before it. The log says how long the wait was (the
 * window manager is usually up before the cage is running, so it is rarely on a start's path).
 */
export async function startSessionApps(launcher: CageLauncher, apps: readonly (readonly string[])[], withWindowManager: boolean, log?: (msg: string, fields?: Record<string, unknown>) => void, before: Promise<void> = Promise.resolve()): Promise<void> {
  if (apps.length === 0) return before;
  const started = Date.now();
  const ready = launcher
    .run({ argv: ['sh', '-c', withWindowManager ? `${WM_READY}; ${SOUND_READY}` : SOUND_READY], timeoutMs: 8000 })
    .catch(() => undefined)
    .then(() => Date.now() - started);
  const [waitedMs] = await Promise.all([ready, before]);
  log?.('session applications starting', { waitedMs, sinceRunningMs: Date.now() - started });
  for (const argv of apps) {
    try {
      await launcher.launch({ argv: [...argv] });
    } catch (err) {
      log?.('app did not start', { app: argv[0], error: (err as Error).message });
    }
  }
}
