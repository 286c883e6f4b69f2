/**
 * The argument lists `xhelper.run` takes for each X tool: exactly the forms the supervisor itself
 * writes (clipboard/xSelection.ts, screen/xScreen.ts, keyboard/cageKeymap.ts), word by word; any
 * other list is refused, whatever the tool would make of it. Checked by the authorization
 * (requestAuthorization.ts) and again by the executor (xHelperRunExecutor.ts).
 */
import type { RequestOf } from './requests';

/** The xrandr output Xvnc has (xScreen.ts). */
const OUTPUT = 'VNC-0';
const SELECTIONS = ['clipboard', 'primary'];
const LAYOUTS = /^[a-z]{2,12}(,[a-z]{2,12}){0,3}$/;
const VARIANTS = /^[a-z0-9_-]{0,32}(,[a-z0-9_-]{0,32}){0,3}$/;
const XKB_OPTIONS = /^([a-z0-9_]{1,32}:[a-z0-9_]{1,32}(,[a-z0-9_]{1,32}:[a-z0-9_]{1,32}){0,7})?$/;
const MODE_NAME = /^cloison-(\d{1,5})x(\d{1,5})$/;

/** xclip serving a selection (clipboard/xSelection.ts's writeSelection): its input is handed to the part. */
export function isSelectionWrite(args: readonly string[]): boolean {
  return args.length === 6 && args[0] === '-selection' && SELECTIONS.includes(args[1]!) && args.slice(2).join(' ') === '-i -t UTF8_STRING -quiet';
}

/** Why `args` is not a form the supervisor writes for `program`, or null. */
export function xArgsRefusal(program: RequestOf<'xhelper.run'>['program'], args: readonly string[], max: { width: number; height: number }): string | null {
  const is = (...form: Array<string | ((a: string) => boolean)>) => form.length === args.length && form.every((f, i) => (typeof f === 'string' ? f === args[i] : f(args[i]!)));
  const mode = (name: string) => {
    const m = MODE_NAME.exec(name);
    return m !== null && Number(m[1]) >= 1 && Number(m[2]) >= 1 && Number(m[1]) <= max.width && Number(m[2]) <= max.height && !/^0/.test(m[1]!) && !/^0/.test(m[2]!);
  };
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
    case 'xrandr': {
      if (args.length === 0) return null;
      if (args[0] === '--newmode' && args.length === 11 && mode(args[1]!) && args[2] === '60') {
        const [, w, h] = MODE_NAME.exec(args[1]!)!;
        if (args.slice(3, 7).every((a) => a === w) && args.slice(7, 11).every((a) => a === h)) return null;
      }
      const ok = is('--addmode', OUTPUT, mode) || is('--output', OUTPUT, '--mode', mode) || is('--delmode', OUTPUT, mode) || is('--rmmode', mode);
      return ok ? null : `xrandr: only the query and the screen-size forms of the supervisor, with modes cloison-WxH within ${max.width}x${max.height}`;
    }
  }
}
