/**
 * A cage's screen for its frame, and its desktop's tone: what the supervisor's screen sizing
 * (supervisor/screen) and whoever starts a cage's Xvnc (its driver, the cage manager) both need,
 * in a module of its own below them.
 */

export interface ScreenSize {
  width: number;
  height: number;
}

/** Xvnc and the policy's own floor. */
export const MIN_SCREEN: ScreenSize = { width: 320, height: 200 };

export interface FrameSize {
  /** The frame's inside, in CSS pixels, as the shell's layout measures it. */
  width: number;
  height: number;
  devicePixelRatio: number;
}

/**
 * The screen for a frame: its size in device pixels, scaled down to fit the bound keeping the
 * frame's shape (a clipped side would letterbox it again), and never below the floor.
 */
export function screenSizeFor(frame: FrameSize, max: ScreenSize): ScreenSize {
  const width = Math.max(1, Math.round(frame.width * frame.devicePixelRatio));
  const height = Math.max(1, Math.round(frame.height * frame.devicePixelRatio));
  const fit = Math.min(1, max.width / width, max.height / height);
  return {
    width: Math.min(max.width, Math.max(MIN_SCREEN.width, Math.floor(width * fit))),
    height: Math.min(max.height, Math.max(MIN_SCREEN.height, Math.floor(height * fit))),
  };
}

/**
 * The desktop's colour for a level: its colour, muted towards a dark grey, so an empty desktop is
 * never black like a margin nor as loud as the frame drawn around it.
 */
export function desktopTone(colour: string): string {
  const mix = (i: number) => Math.round(parseInt(colour.slice(1 + 2 * i, 3 + 2 * i), 16) * 0.35 + 0x1c * 0.65);
  return `#${[0, 1, 2].map((i) => mix(i).toString(16).padStart(2, '0')).join('')}`;
}
