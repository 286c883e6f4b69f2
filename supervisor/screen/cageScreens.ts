/**
 * Each cage's screen follows its frame (issue #26, `geometry: auto`): the shell reports the size
 * of the frame it draws around a cage, the supervisor turns it into a screen size and sets it on
 * the cage's X server (xScreen.ts). The decision is the supervisor's, never a cage's: the size is
 * bounded by the policy (`maxGeometry`, and a minimum), coalesced to the latest report and applied
 * at most every `minIntervalMs`, so a shell cannot make a cage resize in a loop either.
 *
 * The cage's screen is in device pixels (frame size x pixel ratio): at pixel ratio 2 its text is
 * drawn at the screen's own resolution, one cage pixel per screen pixel, not blown up.
 *
 * A cage's Xvnc starts at its frame's size when the supervisor knows it (`startSize`): the size the
 * shell reported, else the last one applied, remembered in the state folder from one start to the
 * next — so a start has no resize (a full frame at the old size, then one at the new) on its path.
 *
 * It also paints each cage's desktop a muted tone of its level's colour when the cage starts, unless
 * the cage's own session painted it as its Xvnc started (bwrapDriver.ts `desktopColour`). Through the
 * cage manager, the cage's Xvnc starts at the size the manager last set (cageManager/managerScreens.ts),
 * and the running cage says which (`cageRunning`'s `started`).
 */
import { maxGeometryOf } from '../../shared/policy';
import type { PolicyReader } from '../policy/policyReader';
import type { CageXTools } from '../clipboard/cageXTools';
import { desktopTone, MIN_SCREEN, screenSizeFor, type FrameSize, type ScreenSize } from '../../shared/cageScreenSize';
import { readScreenSizes, writeScreenSize } from '../system/screenSizesFile';
import { setDesktopColour, setScreenSize } from './xScreen';

export { MIN_SCREEN, screenSizeFor, type FrameSize };

export interface CageScreensOptions {
  policy: PolicyReader;
  /**
   * The X socket directory of a level's running bwrap cage; null when there is none to set. Only
   * handed to `resize` and `paint`: through the cage manager it is the level itself (screenThrough).
   */
  x11DirOf: (level: string) => string | null;
  /** How the size and colour are set (xScreen.ts unless a test counts calls, or the manager sets them). */
  resize?: (x11Dir: string, size: ScreenSize) => Promise<void>;
  paint?: (x11Dir: string, colour: string) => Promise<void>;
  minIntervalMs?: number;
  /** A file (root's state folder) where each level's last applied size is kept for the next start. */
  rememberIn?: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * The options that set the screens with X tools named by level — the cage manager's, when the
 * supervisor is the `cloison` part (cageManager/remoteXTools.ts): the level stands for its folder.
 */
export function screenThrough(tools: Pick<CageXTools, 'unreachable' | 'setScreenSize' | 'setDesktopColour'>): Pick<CageScreensOptions, 'x11DirOf' | 'resize' | 'paint'> {
  return {
    x11DirOf: (level) => (tools.unreachable(level) ? null : level),
    resize: (level, size) => tools.setScreenSize(level, size),
    paint: (level, colour) => tools.setDesktopColour(level, colour),
  };
}

interface LevelScreen {
  wanted: ScreenSize | null;
  applied: ScreenSize | null;
  /** The size the cage's Xvnc was last started at (startSize), applied once it runs. */
  startedAt: ScreenSize | null;
  busy: boolean;
  timer: NodeJS.Timeout | null;
  lastAt: number;
}

const same = (a: ScreenSize | null, b: ScreenSize | null) => Boolean(a && b && a.width === b.width && a.height === b.height);

export class CageScreens {
  private readonly levels = new Map<string, LevelScreen>();
  private disposed = false;

  constructor(private readonly options: CageScreensOptions) {}

  /**
   * The shell measured a level's frame. Returns the screen the cage will have: the size it is
   * being given for `auto`, its fixed size otherwise; null for a cage that is not ours (vnc).
   */
  frameSize(level: string, frame: FrameSize): ScreenSize | null {
    const cage = this.options.policy.current().levels.find((l) => l.id === level)?.cage;
    if (cage?.driver !== 'bwrap') return null;
    if (cage.geometry !== 'auto') {
      const [w, h] = cage.geometry.split('x').map(Number);
      return { width: w!, height: h! };
    }
    const size = screenSizeFor(frame, maxGeometryOf(cage));
    this.stateOf(level).wanted = size;
    this.schedule(level);
    return size;
  }

  /**
   * The size an `auto` cage's Xvnc starts at: its frame's as last reported, else the one remembered
   * from the last start, bounded by the policy as it is now; null (the policy's start size) when
   * neither is known, or for a cage that is not an `auto` bwrap one.
   */
  startSize(level: string): ScreenSize | null {
    const cage = this.options.policy.current().levels.find((l) => l.id === level)?.cage;
    if (cage?.driver !== 'bwrap' || cage.geometry !== 'auto') return null;
    const state = this.stateOf(level);
    const known = state.wanted ?? this.remembered()[level] ?? null;
    const size = known && screenSizeFor({ ...known, devicePixelRatio: 1 }, maxGeometryOf(cage));
    state.startedAt = size;
    return size;
  }

  /**
   * A level's cage is running (first start or restart): its desktop colour, then its frame's size.
   * `started`: what the running cage says its X server was started at and painted (bwrap, here or
   * through the cage manager); neither is set again.
   */
  cageRunning(level: string, started: { screen?: ScreenSize | null; desktopColour?: string | null } = {}): void {
    const state = this.stateOf(level);
    // A new X server: whatever was set on the old one is gone; it has the size it was started at.
    state.applied = started.screen ?? state.startedAt;
    state.startedAt = null;
    const entry = this.options.policy.current().levels.find((l) => l.id === level);
    const dir = this.options.x11DirOf(level);
    if (entry?.cage.driver === 'bwrap' && dir && started.desktopColour !== desktopTone(entry.colour)) {
      void (this.options.paint ?? setDesktopColour)(dir, desktopTone(entry.colour)).catch((err: Error) => this.options.log?.('desktop colour not set', { level, error: err.message }));
    }
    if (entry?.cage.driver === 'bwrap' && entry.cage.geometry === 'auto') this.schedule(level);
  }

  dispose(): void {
    this.disposed = true;
    for (const state of this.levels.values()) if (state.timer) clearTimeout(state.timer);
    this.levels.clear();
  }

  private stateOf(level: string): LevelScreen {
    let state = this.levels.get(level);
    if (!state) {
      state = { wanted: null, applied: null, startedAt: null, busy: false, timer: null, lastAt: 0 };
      this.levels.set(level, state);
    }
    return state;
  }

  /** Latest report wins; one resize at a time per cage, at most one per interval. */
  private schedule(level: string): void {
    const state = this.stateOf(level);
    if (this.disposed || state.busy || state.timer || !state.wanted || same(state.wanted, state.applied)) return;
    const wait = state.lastAt + (this.options.minIntervalMs ?? 250) - Date.now();
    if (wait > 0) {
      state.timer = setTimeout(() => {
        state.timer = null;
        this.schedule(level);
      }, wait);
      state.timer.unref();
      return;
    }
    const dir = this.options.x11DirOf(level);
    if (!dir) return; // not running: applied when it is (cageRunning)
    const size = state.wanted;
    state.busy = true;
    state.lastAt = Date.now();
    (this.options.resize ?? setScreenSize)(dir, size)
      .then(
        () => {
          state.applied = size;
          this.options.log?.('cage screen', { level, ...size });
          this.remember(level, size);
        },
        (err: Error) => this.options.log?.('cage screen not set', { level, ...size, error: err.message }),
      )
      .finally(() => {
        state.busy = false;
        if (!same(state.wanted, size)) this.schedule(level);
      });
  }

  /** Each level's last applied size as the file holds it; nothing when there is none or it is not ours. */
  private remembered(): Record<string, ScreenSize> {
    return this.options.rememberIn ? readScreenSizes(this.options.rememberIn) : {};
  }

  private remember(level: string, size: ScreenSize): void {
    const file = this.options.rememberIn;
    if (!file || this.disposed) return;
    try {
      writeScreenSize(file, level, size);
    } catch (err) {
      this.options.log?.('cage screen size not remembered', { level, error: (err as Error).message });
    }
  }
}
