/**
 * The manager's side of `xhelper.screenSize` (issue #26): a running cage's screen set to width x
 * height by the root supervisor's own resize script (screen/xScreen.ts: a mode made, added and
 * switched to, the earlier `cloison-*` modes forgotten) in ONE X helper sandbox (nothing but /usr
 * and the cage's X socket folder, a uid of its own, no network), on the X socket folder the manager knows
 * for the level, never a path from the request. The part sends two numbers, not an argument list:
 * the script and its arguments are the manager's, the size held within what the supervisor's own
 * sizing can give the level (xHelperRunArguments.ts's screenSizeRefusal: checked by the
 * authorization, then here again). It replaces the four `xhelper.run` xrandr steps the part sent
 * one after the other, each its own sandbox (200–245 ms of wall each at load 31: bench/RESULTS.md).
 *
 * One resize per level at a time (another is answered BUSY; the part's CageScreens sends one at a
 * time anyway). A size set is remembered for the level's next start (managerScreens.ts).
 */
import { maxGeometryOf, type Policy } from '../../shared/policy';
import { CloisonError } from '../../shared/errors';
import type { ScreenSize } from '../../shared/cageScreenSize';
import { setScreenSize } from '../clipboard/xScreenResize';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';
import { screenSizeRefusal } from './xHelperRunArguments';

export interface XScreenSizeDeps {
  policy(): Policy;
  /** The X socket folder of the level's running cage (its driver's x11Dir), or null when it is not running. */
  x11Dir(level: string): string | null;
  /** A size set: the level's Xvnc starts at it next time (managerScreens.ts). */
  set?(level: string, size: ScreenSize): void;
  /** Runs the resize (xScreenResize.ts's, unless a test counts them). */
  resize?(x11Dir: string, size: ScreenSize, timeoutMs: number): Promise<void>;
  timeoutMs?: number;
}

/**
 * The whole resize's bound: the four steps it replaces had 10 s each, and one sandbox with all of
 * xrandr's runs in it went past 5 s at load 37 (bench/RESULTS.md): the part's resize failed.
 */
const RESIZE_TIMEOUT_MS = 20_000;

export function xScreenSizeExecutor(deps: XScreenSizeDeps): (req: RequestOf<'xhelper.screenSize'>) => Promise<{ width: number; height: number }> {
  const resizing = new Set<string>();
  return async (req) => {
    const cage = deps.policy().levels.find((l) => l.id === req.level)?.cage;
    if (!cage || cage.driver !== 'bwrap') throw refused(`level "${req.level}" has no bwrap cage`);
    if (cage.geometry !== 'auto') throw refused(`level ${req.level}'s screen is fixed (${cage.geometry})`);
    const size = { width: req.width, height: req.height };
    const why = screenSizeRefusal(size, maxGeometryOf(cage));
    if (why) throw refused(why);
    const x11Dir = deps.x11Dir(req.level);
    if (!x11Dir) throw refused(`cage ${req.level} is not running`);
    if (resizing.has(req.level)) throw new CloisonError('BUSY', `a resize of level ${req.level} already runs`);
    resizing.add(req.level);
    try {
      await (deps.resize ?? setScreenSize)(x11Dir, size, deps.timeoutMs ?? RESIZE_TIMEOUT_MS);
    } finally {
      resizing.delete(req.level);
    }
    deps.set?.(req.level, size);
    return size;
  };
}
