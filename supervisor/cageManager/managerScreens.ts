/**
 * The cage manager's memory of each cage's screen size (split, #29; issue #26): the size the part
 * last had a level's screen switched to, kept in the manager's own state folder (root's), so the
 * manager starts that level's Xvnc at it next time — its own early start included, which comes
 * before the part could say anything. A start then has no resize on its path (the X helper's
 * sandboxes, a full frame at the old size, then one at the new), as the root supervisor's
 * starts have not had since cageScreens.ts remembered the size (its `screens.json`, the part's).
 *
 * What is remembered is only what the manager itself set successfully for the part: an
 * `xhelper.screenSize` that ran to its end (xScreenSizeExecutor.ts, its size already held within the
 * level's bounds). At a start it is bounded again by the policy as it is then; a file that is
 * missing, damaged or names nothing valid is the policy's start size.
 */
import { maxGeometryOf, type Policy } from '../../shared/policy';
import { screenSizeFor, type FrameSize, type ScreenSize } from '../../shared/cageScreenSize';
import { readScreenSizes, writeScreenSize } from '../system/screenSizesFile';

/** The manager's file (its state folder): not the part's `screens.json`, which the state move hands over. */
export const MANAGER_SCREENS_FILE = 'cage-screens.json';

export class ManagerScreens {
  constructor(
    private readonly file: string,
    private readonly log?: (msg: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** A level's screen was set to `size` (its resize succeeded): its size now, and at its next start. */
  set(level: string, size: ScreenSize): void {
    const known = readScreenSizes(this.file)[level];
    if (known?.width === size.width && known?.height === size.height) return;
    try {
      writeScreenSize(this.file, level, size);
    } catch (err) {
      this.log?.('cage screen size not remembered', { level, error: (err as Error).message });
    }
  }

  /** The size a level's Xvnc starts at: the last one set, within the policy now; null for the policy's own (or not an `auto` bwrap cage). */
  startSize(policy: Policy, level: string): ScreenSize | null {
    const cage = policy.levels.find((l) => l.id === level)?.cage;
    if (cage?.driver !== 'bwrap' || cage.geometry !== 'auto') return null;
    const known = readScreenSizes(this.file)[level];
    if (!known) return null;
    const frame: FrameSize = { ...known, devicePixelRatio: 1 };
    return screenSizeFor(frame, maxGeometryOf(cage));
  }
}
