/**
 * The manager's side of `xhelper.run`: one of the X tools the supervisor uses, run in the X helper
 * sandbox (clipboard/xSelection.ts's clipboardHelperArgs: nothing but /usr and the cage's X socket
 * folder, no network, a uid of its own with no capability) on the running cage's own X server, whose
 * socket folder the manager knows (its running cages), never a path from the request. The program
 * is one of requests.ts's fixed list, and its arguments must be one of the exact forms the
 * supervisor itself writes (xHelperRunArguments.ts: checked by the authorization, then here
 * again) — a form not listed is refused, whatever the tool would make of it (`-display`, an input
 * file, `-silent` that never exits). The screen size is not here: `xhelper.screenSize`
 * (xScreenSizeExecutor.ts) runs the supervisor's whole resize in one sandbox.
 *
 *   xclip      -selection clipboard|primary -o [-t UTF8_STRING]       (reading a selection)
 *   xsetroot   -solid #rrggbb
 *   setxkbmap  -query | [-option <options>] -layout <layouts> [-variant <variants>]
 *
 * At most XHELPER_RUNNING_PER_LEVEL reads run at once for one level, whichever connections ask
 * (more are answered BUSY); a selection write keeps one xclip per level and selection.
 * The answer is the exit status and the output, bounded (for xclip the largest clipboard the
 * policy lets out of that level, 64 KiB otherwise; `truncated` says the tool was stopped there),
 * base64 since a selection is bytes.
 * Writing a selection (`xclip -selection S -i -t UTF8_STRING -quiet`, as writeSelection runs it)
 * needs the text on xclip's input and keeps serving it: its input — one end of a socket pair — is
 * handed to the part over SCM_RIGHTS (socketHandOver.ts, as `cage.vncSocket` hands its
 * connection) and the answer is `{ serving, connection }`; the part writes the text and ends it.
 * The manager keeps that xclip until another client takes the selection, and stops it when the part
 * asks the same level's same selection again (one served selection each, as the clipboard does),
 * or asks `xhelper.stop` with that level and connection (servingSelections.ts).
 */
import type { Policy } from '../../shared/policy';
import type { Socket } from 'node:net';
import { CloisonError } from '../../shared/errors';
import { clipboardHelperArgs } from '../clipboard/xSelection';
import { spawnBwrap } from '../sandbox/bwrapSpawn';
import { requireBinary } from '../system/binaries';
import { refused } from './openedExactly';
import { isSelectionWrite, xArgsRefusal } from './xHelperRunArguments';
import { handOverSocket, SELECTION_INPUT_MESSAGE, type PartEnd } from './socketHandOver';
import type { RequestOf } from './requests';
import { ServingSelections } from './servingSelections';

export interface XHelperRunDeps {
  policy(): Policy;
  /** The unprivileged part's channel, where a selection's input goes (socketHandOver.ts). */
  part?(): PartEnd | null;
  /** The X socket folder of the level's running cage (its driver's x11Dir), or null when it is not running. */
  x11Dir(level: string): string | null;
  /** The selections served, shared with `xhelper.stop` (xhelperStopExecutor.ts); one of its own when not given. */
  serving?: ServingSelections;
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

const OTHER_OUTPUT_BYTES = 64 * 1024;
/** X helper sandboxes one level may have running at once, whatever the connections asking. */
export const XHELPER_RUNNING_PER_LEVEL = 4;

/** The largest clipboard any rule lets out of `level` (its directions, its pairs): more is never read. */
function clipboardLimit(policy: Policy, level: string): number {
  const { up, down, lateral, pairs } = policy.clipboard;
  return Math.max(up.maxBytes, down.maxBytes, lateral.maxBytes, ...pairs.filter((p) => p.from === level).map((p) => p.maxBytes ?? 0));
}

export function xHelperRunExecutor(deps: XHelperRunDeps): (req: RequestOf<'xhelper.run'>) => Promise<XHelperRunResult | { serving: true; connection: number }> {
  const servers = deps.serving ?? new ServingSelections();
  const running = new Map<string, number>();
  let next = 1;
  return async (req) => {
    const policy = deps.policy();
    const index = policy.levels.findIndex((l) => l.id === req.level);
    const cage = policy.levels[index]?.cage;
    if (!cage || cage.driver !== 'bwrap') throw refused(`level "${req.level}" has no bwrap cage`);
    const why = xArgsRefusal(req.program, req.args);
    if (why) throw refused(why);
    const x11Dir = deps.x11Dir(req.level);
    if (!x11Dir) throw refused(`cage ${req.level} is not running`);
    requireBinary(req.program);
    if (req.program === 'xclip' && isSelectionWrite(req.args)) {
      const part = deps.part?.() ?? null;
      if (!part) throw new CloisonError('INTERNAL', 'the unprivileged part is not running');
      const child = spawnBwrap(clipboardHelperArgs(x11Dir, [req.program, ...req.args]), { stdio: ['pipe', 'ignore', 'ignore'] });
      const connection = next++;
      servers.serve(req.level, req.args[1]!, connection, child);
      try {
        await handOverSocket(part, { type: SELECTION_INPUT_MESSAGE, level: req.level, connection }, child.stdin as unknown as Socket);
      } catch (err) {
        child.kill('SIGKILL');
        throw err;
      }
      return { serving: true, connection };
    }
    // Counted per level here, not per connection (the server's bound): a part opening many
    // connections would otherwise have root run a sandbox for each read of a hung X server.
    const busy = running.get(req.level) ?? 0;
    if (busy >= XHELPER_RUNNING_PER_LEVEL) throw new CloisonError('BUSY', `${busy} X helpers already run for level ${req.level}`);
    running.set(req.level, busy + 1);
    try {
      const result = await runBounded(x11Dir, [req.program, ...req.args], req.program === 'xclip' ? clipboardLimit(policy, req.level) : OTHER_OUTPUT_BYTES, deps.timeoutMs ?? 10_000);
      return result;
    } finally {
      const left = running.get(req.level)! - 1;
      if (left > 0) running.set(req.level, left);
      else running.delete(req.level);
    }
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
