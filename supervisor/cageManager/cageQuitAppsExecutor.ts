/**
 * The manager's side of `cage.quitApps`: before the part stops a level's cage, the cage's
 * applications asked to quit as the user would (cages/appQuit.ts: wmctrl closes each window through
 * the window manager, then the windows and launched programs are counted until none is left). That
 * runs through the cage's launcher channel, which only the manager holds.
 *
 * The part chooses neither the program nor the wait: the wait is the running policy's
 * `appQuitSeconds` for the level (at most a minute), the default for a level the policy dropped
 * while its cage still runs. Requests for a level whose quit is under way share its answer: a part
 * asking again and again runs one quit, not one per request. The answer is the outcome's numbers
 * and a reason the manager wrote, cut to one short line — the cage's own words never cross.
 */
import type { Policy } from '../../shared/policy';
import type { AppQuitOutcome } from '../cages/appQuit';
import type { RunningCage } from '../cages/cageDriver';
import { DEFAULT_APP_QUIT_SECONDS } from '../cages/appQuit';
import type { RequestOf } from './requests';

export interface CageQuitAppsExecutorOptions {
  policy(): Policy;
  cage(level: string): RunningCage | null;
}

const REASON_CHARS = 200;
/** No count a cage could report is larger (appQuit.ts counts windows with `grep -c`). */
const MAX_COUNT = 1_000_000;

export function cageQuitAppsExecutor(options: CageQuitAppsExecutorOptions): (req: RequestOf<'cage.quitApps'>) => Promise<AppQuitOutcome> {
  const under = new Map<string, Promise<AppQuitOutcome>>();
  return (req) => {
    const running = under.get(req.level);
    if (running) return running;
    const cage = options.cage(req.level);
    if (!cage?.quitApps) return Promise.resolve(notAsked(`cage ${req.level} is not running`));
    const quit = cage
      .quitApps(quitMsOf(options.policy(), req.level))
      .then(plainOutcome)
      .finally(() => under.delete(req.level));
    under.set(req.level, quit);
    return quit;
  };
}

/** The level's bound from the running policy (cageFleet.ts's appQuitMsOf), the default for a level it no longer names. */
function quitMsOf(policy: Policy, level: string): number {
  const cage = policy.levels.find((l) => l.id === level)?.cage;
  return (cage?.driver === 'bwrap' ? (cage.appQuitSeconds ?? DEFAULT_APP_QUIT_SECONDS) : DEFAULT_APP_QUIT_SECONDS) * 1000;
}

function notAsked(reason: string): AppQuitOutcome {
  return { outcome: 'not asked', windows: 0, windowsLeft: 0, programsLeft: 0, waitedMs: 0, reason };
}

/** Only the outcome's fields, each a bounded number; the reason one printable line. */
function plainOutcome(o: AppQuitOutcome): AppQuitOutcome {
  const count = (n: number) => (Number.isInteger(n) ? Math.min(Math.max(n, 0), MAX_COUNT) : 0);
  const outcome: AppQuitOutcome['outcome'] = o.outcome === 'all quit' || o.outcome === 'timed out' ? o.outcome : 'not asked';
  const plain: AppQuitOutcome = { outcome, windows: count(o.windows), windowsLeft: count(o.windowsLeft), programsLeft: count(o.programsLeft), waitedMs: count(Math.round(o.waitedMs)) };
  if (o.reason !== undefined) plain.reason = oneLine(o.reason);
  return plain;
}

function oneLine(text: string): string {
  return text.replace(/[^\x20-\x7e\u00a0-\u024f]+/g, ' ').slice(0, REASON_CHARS);
}
