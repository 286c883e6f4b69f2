/**
 * The manager's SIGHUP (`systemctl reload cloison-cage-manager`, the administrator's authoritative
 * reload): its own policy read again first, and the part told only when the manager took it — the
 * part then asks the manager for the text it runs (policy.current), never reading the file itself.
 * A refused policy is not passed on: the part would otherwise apply what root refused (#29). A file
 * being written (settledPolicyText.ts) is read again a little later, a few times, since SIGHUP has
 * no one to answer. Signalling a part that has just ended fails (ESRCH): a throw in root's signal
 * handler would end the manager. A part still starting is not signalled (SIGHUP's default would end
 * it before it set its handler, and a first start that ends is not started again): the signal is
 * owed, and sent when it says `ready` (`partReady`), since it may have asked the text before.
 */
import type { ManagerReloadAnswer } from './managerPolicyReload';

export interface ManagerSighupOptions {
  /** The manager's reading (managerPolicyReload.ts): the name service asked without stopping the manager. */
  reload(): Promise<ManagerReloadAnswer> | ManagerReloadAnswer;
  /** The part's pid once it is ready (its SIGHUP handler set); none while it starts. */
  partPid(): number | null | undefined;
  /** The part is starting: the signal is owed to it, for its `ready`. */
  owe?: () => void;
  log(msg: string, fields?: Record<string, unknown>): void;
  /** process.kill; a test's own. */
  signal?: (pid: number, signal: NodeJS.Signals) => void;
  /** setTimeout; a test's own. */
  later?: (run: () => void, ms: number) => void;
}

/** How often, and how far apart, a file being written is read again after SIGHUP. */
export const SIGHUP_RETRIES = 5;
const RETRY_MS = 1200;

export function onManagerSighup(options: ManagerSighupOptions, retriesLeft = SIGHUP_RETRIES): void {
  let asked: Promise<ManagerReloadAnswer> | ManagerReloadAnswer;
  try {
    asked = options.reload();
  } catch (err) {
    asked = Promise.reject(err as Error);
  }
  if (!(asked instanceof Promise)) return answered(asked, options, retriesLeft);
  // A throw here would be an unhandled rejection, ending root's manager: said instead.
  asked.then(
    (answer) => answered(answer, options, retriesLeft),
    (err: Error) => options.log('policy reload failed; the running policy stays', { reason: err.message }),
  );
}

function answered(answer: ManagerReloadAnswer, options: ManagerSighupOptions, retriesLeft: number): void {
  if (!answer.accepted) {
    if (answer.beingWritten && retriesLeft > 0) (options.later ?? ((run, ms) => void setTimeout(run, ms).unref()))(() => onManagerSighup(options, retriesLeft - 1), RETRY_MS);
    else options.log('SIGHUP not passed to the cloison part: the manager did not take the policy', { reason: answer.reason });
    return;
  }
  const pid = options.partPid();
  if (!pid) return options.owe?.();
  passHup(pid, options);
}

/** SIGHUP to the part (its ready, when one was owed). */
export function passHup(pid: number, options: Pick<ManagerSighupOptions, 'log' | 'signal'>): void {
  try {
    (options.signal ?? ((p, s) => process.kill(p, s)))(pid, 'SIGHUP');
  } catch (err) {
    options.log('SIGHUP not passed to the cloison part', { reason: (err as Error).message });
  }
}
