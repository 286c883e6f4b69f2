/**
 * Whether the cage manager's stop leaves its cages running (--keep-cages-on-stop, as the root
 * supervisor's main.ts): only SIGTERM, the service manager's stop for a restart or an upgrade,
 * after which the next manager's `cage.start` adopts each cage that checks out
 * (cageStartExecutor.ts). SIGINT (Ctrl+C, the package's removal) always ends them — and so does a
 * SIGTERM while the machine itself shuts down: no next manager comes to adopt them, and systemd's
 * last step would SIGTERM then SIGKILL whatever is left, so the applications would die unasked (an
 * unsaved document lost without its "save?"). Stopped here instead, each level's applications are
 * asked to close first, as at any other stop (CageLifecycle.quitAppsBeforeStop).
 */
import { execFile } from 'node:child_process';

export function keepsCages(signal: string, keepCagesOnStop: boolean, machineStopping = false): boolean {
  return keepCagesOnStop && signal === 'SIGTERM' && !machineStopping;
}

/** How long systemd's answer may take before the stop goes on as if the machine kept running. */
const ASK_MS = 2000;

/**
 * Whether the machine is shutting down: systemd's own state, `stopping` from the moment a
 * shutdown.target job is queued (poweroff, reboot, halt) — before any unit is stopped. No systemd
 * (a container, `npm start`), no answer in time, or any other state: no.
 */
export function machineStopping(systemctl = 'systemctl'): Promise<boolean> {
  return new Promise((resolve) => {
    // `is-system-running` exits non-zero for every state but "running": its word is on stdout either way.
    execFile(systemctl, ['is-system-running'], { timeout: ASK_MS, encoding: 'utf8' }, (_err, stdout) => resolve(String(stdout ?? '').trim() === 'stopping'));
  });
}
