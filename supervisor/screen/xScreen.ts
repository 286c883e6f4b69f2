/**
 * Sets a cage's screen size and desktop colour from the supervisor's side, through the cage's own
 * X server: xrandr and xsetroot in the X helper sandbox (nothing but /usr and that cage's X socket
 * directory, no network, a uid of its own with no capability — xSelection.ts), never a command the cage
 * could have written. The cage's Xvnc keeps refusing SetDesktopSize from any VNC client
 * (`-AcceptSetDesktopSize=0`), and the gateway drops it from viewers: a viewer cannot ask.
 *
 * What the cage owns it can change: it may run xrandr or xsetroot itself, on its own screen. The
 * shell scales whatever size arrives into the frame (bounded by the viewer's framebuffer guard).
 */
import { requireBinary } from '../system/binaries';
import { runXHelper } from '../clipboard/xSelection';
import { desktopTone, type ScreenSize } from '../../shared/cageScreenSize';
import { setScreenSize } from '../clipboard/xScreenResize';

export type { ScreenSize };
export { desktopTone };
/** The resize, in one X helper sandbox: the manager runs it too (cageManager/xScreenSizeExecutor.ts). */
export { setScreenSize };

export function setDesktopColour(x11Dir: string, colour: string, timeoutMs = 5000): Promise<void> {
  requireBinary('xsetroot');
  if (!/^#[0-9a-fA-F]{6}$/.test(colour)) throw new RangeError(`bad colour ${colour}`);
  return runXHelper(x11Dir, ['xsetroot', '-solid', colour], timeoutMs);
}
