/**
 * A cage's screen resized from the supervisor's side: xrandr in the X helper sandbox (xSelection.ts:
 * nothing but /usr and that cage's X socket folder, a uid of its own, no network), the whole resize in one
 * sandbox. Here, beside the X helper, so both the root supervisor (screen/xScreen.ts) and the cage
 * manager (cageManager/xScreenSizeExecutor.ts) run the same script.
 */
import { requireBinary } from '../system/binaries';
import type { ScreenSize } from '../../shared/cageScreenSize';
import { runXHelper } from './xSelection';

/** TigerVNC's Xvnc names its one output so. */
const OUTPUT = 'VNC-0';

/**
 * Adds a mode of exactly width x height (Xvnc takes any size), switches the output to it — xrandr
 * then sizes the screen to the output — and forgets the modes of earlier sizes, so a day of
 * resizing does not pile modes up: sixteen at most a resize, as the cage may name modes as ours on
 * its own screen (the sandbox's time is root's, through the manager). Arguments arrive as
 * positional parameters, never in the text. One X helper sandbox for the whole (each costs
 * 200–245 ms of wall in namespaces at load 31: bench/RESULTS.md).
 */
const RESIZE_SCRIPT = `w=$1; h=$2; out=$3; m="cloison-\${w}x\${h}"
xrandr --newmode "$m" 60 "$w" "$w" "$w" "$w" "$h" "$h" "$h" "$h" 2>/dev/null
xrandr --addmode "$out" "$m" 2>/dev/null
xrandr --output "$out" --mode "$m" || exit 1
xrandr | { n=0; while read -r old rest; do
  case "$old" in cloison-*) [ "$old" = "$m" ] || [ "$n" -ge 16 ] || { n=$((n + 1)); { xrandr --delmode "$out" "$old"; xrandr --rmmode "$old"; } 2>/dev/null; } ;; esac
done; }
exit 0`;

export function setScreenSize(x11Dir: string, size: ScreenSize, timeoutMs = 5000): Promise<void> {
  requireBinary('xrandr');
  const { width, height } = size;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`bad screen size ${width}x${height}`);
  return runXHelper(x11Dir, ['sh', '-c', RESIZE_SCRIPT, 'sh', String(width), String(height), OUTPUT], timeoutMs);
}
