/**
 * Test tool: the built cage manager (out/supervisor/cageManager.js, `npm run build`) run as root
 * in a process of its own, as npm start runs it, the supervisor as its `cloison` part: its stdout's
 * JSON lines (its own, and the part's it relays: "listening", "ready") and its stderr (the log of
 * both) gathered as they come.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from './waitFor';

const REPO = resolve(__dirname, '..', '..');
const BUNDLE = join(REPO, 'out/supervisor/cageManager.js');

export type ManagerLine = Record<string, unknown>;

export interface BuiltManager {
  process: ChildProcess;
  /** Its stdout's JSON lines so far. */
  lines: ManagerLine[];
  /** Its stderr so far. */
  stderr(): string;
  /** The first line `said` holds for; rejects once the manager has ended without one, or after `timeoutMs`. */
  untilLine(said: (line: ManagerLine) => boolean, what: string, timeoutMs: number): Promise<ManagerLine>;
  /** Sends `signal` unless it has ended already, then awaits its exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts it with `args`, after `prefix` (a program it runs under: unshare…). */
export function startBuiltManager(args: string[], prefix: string[] = []): BuiltManager {
  if (!existsSync(BUNDLE)) throw new Error('out/supervisor/cageManager.js is missing: npm run build');
  const argv = [...prefix, process.execPath, BUNDLE, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const lines: ManagerLine[] = [];
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) lines.push(JSON.parse(line) as ManagerLine);
  });
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  return {
    process: child,
    lines,
    stderr: () => stderr,
    untilLine: async (said, what, timeoutMs) => {
      await waitFor(() => lines.some(said) || ended(), what, timeoutMs, 100);
      const line = lines.find(said);
      if (!line) throw new Error(`the cage manager ended (${child.exitCode ?? child.signalCode}) before ${what}: ${stderr}`);
      return line;
    },
    stop: async (signal = 'SIGTERM') => {
      if (ended()) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await gone;
    },
  };
}
