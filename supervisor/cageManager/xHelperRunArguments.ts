/**
 * The argument lists `xhelper.run` takes for each X tool: exactly the forms the supervisor itself
 * writes (clipboard/xSelection.ts, screen/xScreen.ts, keyboard/cageKeymap.ts), word by word; any
 * other list is refused, whatever the tool would make of it. And the sizes `xhelper.screenSize`
 * takes: those the supervisor's own sizing can give the level (shared/cageScreenSize.ts). Checked by
 * the authorization (requestAuthorization.ts) and again by the executors (xHelperRunExecutor.ts,
 * xScreenSizeExecutor.ts).
 */
import { MIN_SCREEN } from '../../shared/cageScreenSize';
import type { RequestOf } from './requests';

const SELECTIONS = ['clipboard', 'primary'];
const LAYOUTS = /^[a-z]{2,12}(,[a-z]{2,12}){0,3}$/;
const VARIANTS = /^[a-z0-9_-]{0,32}(,[a-z0-9_-]{0,32}){0,3}$/;
const XKB_OPTIONS = /^([a-z0-9_]{1,32}:[a-z0-9_]{1,32}(,[a-z0-9_]{1,32}:[a-z0-9_]{1,32}){0,7})?$/;

/** xclip serving a selection (clipboard/xSelection.ts's writeSelection): its input is handed to the part. */
export function isSelectionWrite(args: readonly string[]): boolean {
  return args.length === 6 && args[0] === '-selection' && SELECTIONS.includes(args[1]!) && args.slice(2).join(' ') === '-i -t UTF8_STRING -quiet';
}

/** Why `args` is not a form the supervisor writes for `program`, or null. */
export function xArgsRefusal(program: RequestOf<'xhelper.run'>['program'], args: readonly string[]): string | null {
  const is = (...form: Array<string | ((a: string) => boolean)>) => form.length === args.length && form.every((f, i) => (typeof f === 'string' ? f === args[i] : f(args[i]!)));
  const oneOf = (values: string[]) => (a: string) => values.includes(a);
  switch (program) {
    case 'xclip': {
      const reading = is('-selection', oneOf(SELECTIONS), '-o') || is('-selection', oneOf(SELECTIONS), '-o', '-t', 'UTF8_STRING');
      return reading || isSelectionWrite(args) ? null : 'xclip: only reading a selection (-selection clipboard|primary -o [-t UTF8_STRING]) or serving one (-selection clipboard|primary -i -t UTF8_STRING -quiet)';
    }
    case 'xsetroot':
      return is('-solid', (a) => /^#[0-9a-fA-F]{6}$/.test(a)) ? null : 'xsetroot: only -solid #rrggbb';
    case 'setxkbmap': {
      const layout = (a: string) => LAYOUTS.test(a);
      const variant = (a: string) => VARIANTS.test(a);
      const options = (a: string) => XKB_OPTIONS.test(a);
      const ok = is('-query') || is('-layout', layout) || is('-layout', layout, '-variant', variant) || is('-option', options, '-layout', layout) || is('-option', options, '-layout', layout, '-variant', variant);
      return ok ? null : 'setxkbmap: only -query, or [-option <options>] -layout <layouts> [-variant <variants>]';
    }
  }
}

/**
 * Why a level whose maxGeometry is `max` may not be given a screen of `size`, or null: the sizes
 * screenSizeFor can give it (MIN_SCREEN up to max; max itself when it is smaller than MIN_SCREEN).
 */
export function screenSizeRefusal(size: { width: number; height: number }, max: { width: number; height: number }): string | null {
  const side = (value: number, low: number, high: number) => Number.isInteger(value) && value >= Math.min(low, high) && value <= high;
  if (side(size.width, MIN_SCREEN.width, max.width) && side(size.height, MIN_SCREEN.height, max.height)) return null;
  return `screen size ${size.width}x${size.height} is outside ${Math.min(MIN_SCREEN.width, max.width)}x${Math.min(MIN_SCREEN.height, max.height)}–${max.width}x${max.height}`;
}
