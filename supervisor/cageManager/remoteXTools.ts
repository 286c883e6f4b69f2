/**
 * The `cloison` part's X tools (clipboard/cageXTools.ts): each one an `xhelper.run` request to the
 * root cage manager, which runs it in the X helper sandbox on the running cage's own X server
 * (xHelperRunExecutor.ts) — the part cannot reach a cage's X socket folder (root's, 0700). The
 * argument lists are exactly the ones the root supervisor writes (xHelperRunArguments.ts refuses
 * any other):
 * - a selection read is `xclip -selection S -o -t UTF8_STRING`, its output bounded by the manager
 *   (the policy's largest clipboard out of the level: `truncated`) and here by `maxBytes`;
 * - a selection served is `xclip -selection S -i -t UTF8_STRING -quiet`: xclip's input comes on the
 *   part's channel (SELECTION_INPUT_MESSAGE), the text is written on it and ended. The part keeps
 *   that descriptor, reading it only to learn its end: xclip (and the sandbox around it, which holds
 *   the other end) ends when an app of the cage takes the selection, so its end is `owned` false.
 *   Stopping it (the clipboard's dispose, the other selection's paste failing) asks the manager to
 *   stop that xclip (`xhelper.stop` with the level and the connection its answer named), unless it
 *   has ended already; the manager also stops it when the same level's same selection is served
 *   again, and it ends with the cage;
 * - the screen size is one `xhelper.screenSize` with the width and height: the manager runs the
 *   supervisor's own script (xScreen.ts) in one sandbox, the size held within the level's bounds
 *   (the part sends no argument list and no shell);
 * - the desktop colour `xsetroot -solid`, the keymap `setxkbmap -option '' -layout L -variant V`
 *   and its query `setxkbmap -query`.
 * Which levels it reaches is the part's policy (a bwrap cage) and its fleet (running); the manager
 * checks both against its own.
 */
import type { Socket } from 'node:net';
import type { Policy } from '../../shared/policy';
import { unreachableCage, type CageXTools } from '../clipboard/cageXTools';
import type { ReadResult, SelectionServer, XSelectionName } from '../clipboard/xSelection';
import { SelectionStalled } from '../clipboard/selectionStalled';
import type { ManagerRequester } from './managerLink';
import type { RequestOf } from './requests';
import type { XHelperRunResult } from './xHelperRunExecutor';
import { HandedSockets, SELECTION_INPUT_MESSAGE } from './socketHandOver';

/** How long a served selection's xclip must last to have taken the selection (xSelection.ts's writeSelection). */
const SERVING_PROOF_MS = 300;

export interface RemoteXToolsOptions {
  client: ManagerRequester;
  /** The policy the part runs with: which levels have a bwrap cage. */
  policy(): Policy;
  /** Whether the level's cage runs, as the part's fleet knows it. */
  isRunning(level: string): boolean;
  /** The part's receiver of selection inputs (one per process); made here when not given. */
  handed?: HandedSockets;
}

type Program = RequestOf<'xhelper.run'>['program'];

export function remoteCageXTools(options: RemoteXToolsOptions): CageXTools {
  let handed = options.handed ?? null;
  const unreachable = (level: string) => {
    const cage = options.policy().levels.find((l) => l.id === level)?.cage;
    return unreachableCage(level, cage?.driver === 'bwrap', options.isRunning(level));
  };
  const request = async (level: string, program: Program, args: string[]): Promise<unknown> => {
    const why = unreachable(level);
    if (why) throw why;
    return options.client.request({ op: 'xhelper.run', level, program, args });
  };
  /** Runs a tool to its end: its output; a failure with the tool's first line of stderr. */
  const run = async (level: string, program: Program, args: string[]): Promise<Buffer> => {
    const result = (await request(level, program, args)) as XHelperRunResult;
    if (result.code === 0) return Buffer.from(result.stdout, 'base64');
    throw new Error(`${program} on the cage's display ${result.signal ? `stopped (${result.signal})` : `exited ${result.code}`}${result.stderr ? `: ${result.stderr.split('\n')[0]}` : ''}`);
  };

  return {
    unreachable,

    async readSelection(level: string, maxBytes: number, selection: XSelectionName): Promise<ReadResult> {
      const result = (await request(level, 'xclip', ['-selection', selection, '-o', '-t', 'UTF8_STRING'])) as XHelperRunResult;
      const bytes = Buffer.from(result.stdout, 'base64');
      // Over either bound: too large, whatever the rest would have been.
      if (result.truncated || bytes.length > maxBytes) return { kind: 'too-large', selection };
      if (result.code === 0) return bytes.length === 0 ? { kind: 'empty' } : { kind: 'text', bytes, selection };
      if (/open display/i.test(result.stderr)) throw new Error("the cage's display is not reachable");
      if (result.signal) throw new SelectionStalled(selection, 'in time');
      return { kind: 'empty' }; // no owner, or nothing offered as UTF-8 text
    },

    async serveSelection(level: string, text: string, selection: XSelectionName): Promise<SelectionServer> {
      handed ??= new HandedSockets(10_000, SELECTION_INPUT_MESSAGE);
      const { connection } = (await request(level, 'xclip', ['-selection', selection, '-i', '-t', 'UTF8_STRING', '-quiet'])) as { connection: number };
      // Fire and forget (SelectionServer.stop is synchronous): a failure leaves it serving, as before this request existed.
      const stop = () => void options.client.request({ op: 'xhelper.stop', level, connection }).catch(() => undefined);
      let input: Socket;
      try {
        input = await handed.take(connection);
      } catch (err) {
        // Its input never came: the xclip the manager started would serve on, owning the selection.
        stop();
        throw err;
      }
      return serving(input, text, selection, stop);
    },

    async setScreenSize(level: string, size: { width: number; height: number }): Promise<void> {
      const { width, height } = size;
      if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`bad screen size ${width}x${height}`);
      const why = unreachable(level);
      if (why) throw why;
      await options.client.request({ op: 'xhelper.screenSize', level, width, height });
    },

    async setDesktopColour(level: string, colour: string): Promise<void> {
      if (!/^#[0-9a-fA-F]{6}$/.test(colour)) throw new RangeError(`bad colour ${colour}`);
      await run(level, 'xsetroot', ['-solid', colour]);
    },

    async setKeymap(level, layout): Promise<void> {
      await run(level, 'setxkbmap', ['-option', '', '-layout', layout.layout, '-variant', layout.variant]);
    },

    async queryKeymap(level: string): Promise<{ layout: string; variant: string }> {
      const out = (await run(level, 'setxkbmap', ['-query'])).toString('utf8');
      const field = (name: string) => new RegExp(`^${name}:\\s*(\\S*)`, 'm').exec(out)?.[1] ?? '';
      return { layout: field('layout'), variant: field('variant') };
    },
  };
}

/**
 * Writes the text on xclip's input and ends it; xclip serving is proven as writeSelection proves
 * it, by lasting: its end within SERVING_PROOF_MS is a failure. Its input's end afterwards is
 * xclip's: the selection was taken.
 */
async function serving(input: Socket, text: string, selection: XSelectionName, stopServing: () => void): Promise<SelectionServer> {
  let ended = false;
  const gone = new Promise<void>((resolve) => {
    const end = () => {
      ended = true;
      resolve();
    };
    input.once('end', end);
    input.once('close', end);
    input.once('error', end);
  });
  input.resume(); // read, to see the end: xclip writes nothing there
  input.end(text);
  const early = await Promise.race([gone.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), SERVING_PROOF_MS).unref())]);
  if (early) {
    input.destroy();
    throw new Error(`could not set the cage's ${selection} selection (xclip ended at once)`);
  }
  return {
    get owned() {
      return !ended;
    },
    stop: () => {
      if (!ended) stopServing();
      ended = true;
      input.destroy();
    },
  };
}
