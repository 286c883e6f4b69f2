/**
 * A cage's screen resized from the supervisor's side: xrandr in the X helper sandbox (xSelection.ts:
 * nothing but /usr and that cage's X socket folder, a uid of its own, no network), the whole resize
 * in one sandbox. Here, beside the X helper, so both the root supervisor (screen/xScreen.ts) and the cage
 * manager (cageManager/xScreenSizeExecutor.ts) run the same script.
 */
import { randomBytes } from 'node:crypto';
import { requireBinary } from '../system/binaries';
import type { ScreenSize } from '../../shared/cageScreenSize';
import { runXHelper } from './xSelection';

/** TigerVNC's Xvnc names its one output so. */
const OUTPUT = 'VNC-0';

/**
 * Adds a mode of exactly width x height (Xvnc takes any size), switches the output to it — xrandr
 * then sizes the screen to the output —, checks the screen is that size, and forgets the modes of
 * earlier sizes, so a day of resizing does not pile modes up: sixteen at most a resize, as the cage
 * may name modes as ours on its own screen (the sandbox's time is root's, through the manager).
 *
 * The mode's name ends with a tag the supervisor draws at random for each resize: a cage that made
 * a mode of the name first (`cloison-640x480` at 2000x1500, xScreenResize.attack.test.ts) had the
 * script's --newmode fail, unheard, and its own mode switched to, the resize answering done. Now
 * the cage cannot know the name beforehand, every step's failure fails the resize (its message is
 * the error), and the screen's `current WxH` after the switch must be the size asked — a cage that
 * swaps the mode in between (it sees the name once made) fails the resize, said, never silently.
 *
 * Arguments arrive as positional parameters, never in the text; the script takes the tag only as
 * a plain token (hex digits); every name the script hands xrandr starts with `cloison-`, never an
 * option. One X helper sandbox for the whole (each costs 200–245 ms of wall in namespaces at load
 * 31: bench/RESULTS.md).
 */
const RESIZE_SCRIPT = `w=$1; h=$2; out=$3; tag=$4
case "$tag" in ''|*[!0-9a-f]*) echo "bad mode tag" >&2; exit 2 ;; esac
m="cloison-\${w}x\${h}-\${tag}"
xrandr --newmode "$m" 60 "$w" "$w" "$w" "$w" "$h" "$h" "$h" "$h" || exit 1
xrandr --addmode "$out" "$m" || exit 1
xrandr --output "$out" --mode "$m" || exit 1
modes=$(xrandr) || exit 1
now=$(printf '%s\\n' "$modes" | sed -n '/^Screen 0:/{s/.* current //;s/,.*//;p;}')
[ "$now" = "$w x $h" ] || { echo "the screen is \${now:-of no size read} after the switch, not $w x $h" >&2; exit 1; }
printf '%s\\n' "$modes" | { n=0; while read -r old rest; do
  case "$old" in cloison-*) [ "$old" = "$m" ] || [ "$n" -ge 16 ] || { n=$((n + 1)); { xrandr --delmode "$out" "$old"; xrandr --rmmode "$old"; } 2>/dev/null; } ;; esac
done; }
exit 0`;

export function setScreenSize(x11Dir: string, size: ScreenSize, timeoutMs = 5000): Promise<void> {
  requireBinary('xrandr');
  const { width, height } = size;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`bad screen size ${width}x${height}`);
  const tag = randomBytes(8).toString('hex'); // the mode name's tag: 16 hex digits, drawn for this resize
  return runXHelper(x11Dir, ['sh', '-c', RESIZE_SCRIPT, 'sh', String(width), String(height), OUTPUT, tag], timeoutMs);
}
