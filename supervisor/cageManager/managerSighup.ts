/**
 * The manager's SIGHUP: its own policy read again first, then the part told (it reads its copy
 * too, and asks under the policy the manager already checks against). Signalling a part that has
 * just ended fails (ESRCH): a throw in root's signal handler would end the manager.
 */
export interface ManagerSighupOptions {
  reload(): void;
  partPid(): number | null | undefined;
  log(msg: string, fields?: Record<string, unknown>): void;
  /** process.kill; a test's own. */
  signal?: (pid: number, signal: NodeJS.Signals) => void;
}

export function onManagerSighup(options: ManagerSighupOptions): void {
  options.reload();
  const pid = options.partPid();
  if (!pid) return;
  try {
    (options.signal ?? ((p, s) => process.kill(p, s)))(pid, 'SIGHUP');
  } catch (err) {
    options.log('SIGHUP not passed to the cloison part', { reason: (err as Error).message });
  }
}
