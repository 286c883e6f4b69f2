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
 * `before`: what must be done before any application starts (LibreOffice's profile seeded), begun
 * by the caller as soon as the launcher connected. Nothing else is waited for: not the window
 * manager (above), nor the cage's sound server, which starts beside them (its socket is there
 * 0.1–0.75 s after Xvnc's answer, long before an application's first sound; a client that asked
 * before would not start a server of its own: PULSE_SERVER names the cage's). The log says how
 * long the wait was.
 */
export async function startSessionApps(launcher: CageLauncher, apps: readonly (readonly string[])[], log?: (msg: string, fields?: Record<string, unknown>) => void, before: Promise<void> = Promise.resolve()): Promise<void> {
  if (apps.length === 0) return before;
  const started = Date.now();
  await before;
  log?.('session applications starting', { waitedMs: Date.now() - started });
  for (const argv of apps) {
    try {
      await launcher.launch({ argv: [...argv] });
    } catch (err) {
      log?.('app did not start', { app: argv[0], error: (err as Error).message });
    }
  }
}
