/**
 * A cage's configured applications start the one way anything starts in a cage: through its
 * launcher (cageLauncher.ts), as true cage processes. They start as soon as the cage runs (its
 * Xvnc has answered: its X server takes clients), beside its window manager's start rather than
 * after it (#26): openbox manages and maximizes a window mapped before it started as one mapped
 * after (sessionApps.test.ts), and Firefox ESR or LibreOffice map theirs 0.7–2 s after they start,
 * where openbox owns the screen 20–250 ms after Xvnc's answer (bench/RESULTS.md).
 */
import type { CageLauncher } from './cageLauncher';

/**
 * Waits (2 s at most, as the session did) until the cage's sound server listens, when it has one:
 * the session starts it beside the window manager, and the applications find it there from their
 * first sound. A cage without sound asks its launcher nothing before the applications.
 */
const SOUND_READY = 'p="${PULSE_SERVER#unix:}"; i=0; while [ -n "$PULSE_SERVER" ] && [ ! -S "$p" ] && [ "$i" -lt 40 ]; do i=$((i + 1)); sleep 0.05; done';

/**
 * `before`: what must be done before any application starts (LibreOffice's profile seeded), begun
 * by the caller as soon as the launcher connected. `withSound`: the cage has a sound server to
 * wait for. The log says how long the wait was.
 */
export async function startSessionApps(launcher: CageLauncher, apps: readonly (readonly string[])[], withSound: boolean, log?: (msg: string, fields?: Record<string, unknown>) => void, before: Promise<void> = Promise.resolve()): Promise<void> {
  if (apps.length === 0) return before;
  const started = Date.now();
  // The sound wait's milliseconds said on stdout, for the log.
  const script = `t0=$(date +%s%3N); ${SOUND_READY}; echo "sound $(( $(date +%s%3N) - t0 ))"`;
  const ready = withSound
    ? launcher
        .run({ argv: ['sh', '-c', script], timeoutMs: 8000 })
        .then((r) => r.stdout)
        .catch(() => '')
    : Promise.resolve('');
  const [said] = await Promise.all([ready, before]);
  const sound = Number(/^sound (\d+)$/m.exec(said)?.[1] ?? NaN);
  log?.('session applications starting', { waitedMs: Date.now() - started, ...(withSound ? { soundMs: sound } : {}) });
  for (const argv of apps) {
    try {
      await launcher.launch({ argv: [...argv] });
    } catch (err) {
      log?.('app did not start', { app: argv[0], error: (err as Error).message });
    }
  }
}
