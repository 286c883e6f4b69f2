/**
 * The manager's side of `xhelper.run`: one of the X tools the supervisor uses, run in the X helper
 * sandbox (clipboard/xSelection.ts's clipboardHelperArgs: nothing but /usr and the cage's X socket
 * folder, no network, as nobody with no capability) on the running cage's own X server, whose
 * socket folder the manager knows (its running cages), never a path from the request. The program
 * is one of requests.ts's fixed list, and its arguments must be one of the exact forms the
 * supervisor itself writes, checked here word by word — a form not listed is refused, whatever
 * the tool would make of it (`-display`, an input file, `-silent` that never exits, a screen mode
 * larger than the level's maxGeometry):
 *
 *   xclip      -selection clipboard|primary -o [-t UTF8_STRING]       (reading a selection)
 *   xsetroot   -solid #rrggbb
 *   setxkbmap  -query | [-option <options>] -layout <layouts> [-variant <variants>]
 *   xrandr     (no argument: the query) | --newmode cloison-WxH 60 W W W W H H H H
 *              | --addmode VNC-0 cloison-WxH | --output VNC-0 --mode cloison-WxH
 *              | --delmode VNC-0 cloison-WxH | --rmmode cloison-WxH      (W x H within maxGeometry)
 *
 * The answer is the exit status and the output, bounded (the clipboard's largest size for xclip,
 * 64 KiB otherwise; `truncated` says the tool was stopped there), base64 since a selection is bytes.
 * Nothing streams: writing a selection (`xclip -i`, which needs the text on its input and keeps
 * serving it) is not one of these forms.
 */
import { maxGeometryOf, type Policy } from '../../shared/policy';
import { clipboardHelperArgs } from '../clipboard/xSelection';
import { spawnBwrap } from '../sandbox/bwrapSpawn';
import { requireBinary } from '../system/binaries';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';

export interface XHelperRunDeps {
  policy(): Policy;
  /** The X socket folder of the level's running cage (its driver's x11Dir), or null when it is not running. */
  x11Dir(level: string): string | null;
  timeoutMs?: number;
}

export interface XHelperRunResult {
  code: number | null;
  signal: string | null;
  /** The output, base64, at most `limit` bytes. */
  stdout: string;
  truncated: boolean;
  stderr: string;
}

/** The xrandr output Xvnc has (xScreen.ts). */
const OUTPUT = 'VNC-0';
const SELECTIONS = ['clipboard', 'primary'];
const LAYOUTS = /^[a-z]{2,12}(,[a-z]{2,12}){0,3}$/;
const VARIANTS = /^[a-z0-9_-]{0,32}(,[a-z0-9_-]{0,32}){0,3}$/;
const XKB_OPTIONS = /^([a-z0-9_]{1,32}:[a-z0-9_]{1,32}(,[a-z0-9_]{1,32}:[a-z0-9_]{1,32}){0,7})?$/;
const MODE_NAME = /^cloison-(\d{1,5})x(\d{1,5})$/;
const OTHER_OUTPUT_BYTES = 64 * 1024;

/** The largest clipboard any rule of the policy allows (every `maxBytes` under `clipboard`): more is never read. */
function clipboardLimit(policy: Policy): number {
  const sizes = JSON.stringify(policy.clipboard).match(/"maxBytes":\d+/g) ?? [];
  return Math.max(OTHER_OUTPUT_BYTES, ...sizes.map((s) => Number(s.slice(11))));
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
    case 'xclip':
      return is('-selection', oneOf(SELECTIONS), '-o') || is('-selection', oneOf(SELECTIONS), '-o', '-t', 'UTF8_STRING') ? null : 'xclip: only reading a selection (-selection clipboard|primary -o [-t UTF8_STRING])';
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

export function xHelperRunExecutor(deps: XHelperRunDeps): (req: RequestOf<'xhelper.run'>) => Promise<XHelperRunResult> {
  return async (req) => {
    const policy = deps.policy();
    const index = policy.levels.findIndex((l) => l.id === req.level);
    const cage = policy.levels[index]?.cage;
    if (!cage || cage.driver !== 'bwrap') throw refused(`level "${req.level}" has no bwrap cage`);
    const why = xArgsRefusal(req.program, req.args, maxGeometryOf(cage));
    if (why) throw refused(why);
    const x11Dir = deps.x11Dir(req.level);
    if (!x11Dir) throw refused(`cage ${req.level} is not running`);
    requireBinary(req.program);
    return runBounded(x11Dir, [req.program, ...req.args], req.program === 'xclip' ? clipboardLimit(policy) : OTHER_OUTPUT_BYTES, deps.timeoutMs ?? 10_000);
  };
}

function runBounded(x11Dir: string, command: string[], limit: number, timeoutMs: number): Promise<XHelperRunResult> {
  const child = spawnBwrap(clipboardHelperArgs(x11Dir, command), { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      if (truncated) return;
      const room = limit - size;
      if (d.length > room) {
        chunks.push(d.subarray(0, room));
        size = limit;
        truncated = true;
        child.kill('SIGKILL');
        return;
      }
      chunks.push(d);
      size += d.length;
    });
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-1000)));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(chunks).toString('base64'), truncated, stderr: stderr.trim().slice(0, 500) });
    });
  });
}
