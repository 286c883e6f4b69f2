/**
 * Sets a cage's screen size and desktop colour from the supervisor's side, through the cage's own
 * X server: xrandr and xsetroot in the X helper sandbox (nothing but /usr and that cage's X socket
 * directory, no network, as nobody with no capability — xSelection.ts), never a command the cage
 * could have written. The cage's Xvnc keeps refusing SetDesktopSize from any VNC client
 * (`-AcceptSetDesktopSize=0`), and the gateway drops it from viewers: a viewer cannot ask.
 *
 * What the cage owns it can change: it may run xrandr or xsetroot itself, on its own screen. The
 * shell scales whatever size arrives into the frame (bounded by the viewer's framebuffer guard).
 */
import { requireBinary } from '../system/binaries';
import { runXHelper } from '../clipboard/xSelection';
import { desktopTone, type ScreenSize } from '../../shared/cageScreenSize';

/** TigerVNC's Xvnc names its one output so. */
const OUTPUT = 'VNC-0';

/**
 * Adds a mode of exactly width x height (Xvnc takes any size), switches the output to it — xrandr
 * then sizes the screen to the output — and forgets the modes of earlier sizes, so a day of
 * resizing does not pile modes up. Arguments arrive as positional parameters, never in the text.
 */
const RESIZE_SCRIPT = `w=$1; h=$2; out=$3; m="cloison-\${w}x\${h}"
xrandr --newmode "$m" 60 "$w" "$w" "$w" "$w" "$h" "$h" "$h" "$h" 2>/dev/null
xrandr --addmode "$out" "$m" 2>/dev/null
xrandr --output "$out" --mode "$m" || exit 1
xrandr | while read -r old rest; do
  case "$old" in cloison-*) [ "$old" = "$m" ] || { xrandr --delmode "$out" "$old"; xrandr --rmmode "$old"; } 2>/dev/null ;; esac
done
exit 0`;

export type { ScreenSize };
export { desktopTone };


export function setScreenSize(x11Dir: string, size: ScreenSize, timeoutMs = 5000): Promise<void> {
  requireBinary('xrandr');
  const { width, height } = size;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`bad screen size ${width}x${height}`);
  return runXHelper(x11Dir, ['sh', '-c', RESIZE_SCRIPT, 'sh', String(width), String(height), OUTPUT], timeoutMs);
}

export function setDesktopColour(x11Dir: string, colour: string, timeoutMs = 5000): Promise<void> {
  requireBinary('xsetroot');
  if (!/^#[0-9a-fA-F]{6}$/.test(colour)) throw new RangeError(`bad colour ${colour}`);
  return runXHelper(x11Dir, ['xsetroot', '-solid', colour], timeoutMs);
}
