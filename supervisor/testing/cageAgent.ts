/**
 * Test tool: a program that runs inside a cage as one of its apps (started, like every app, by the
 * cage's launcher: cages/cageLauncher.ts), so what it runs is a true cage process (the cage's
 * seccomp filter, cgroup and namespaces, inherited), unlike a process entered from outside with
 * nsenter. For tests whose supervisor is another process; in-process tests can ask the launcher. The test drops a script into the cage's home from the host; the
 * agent runs it with `sh` (the home is noexec: scripts are read, not executed) and writes back its
 * output and exit status. It runs the script in the C locale: the cage's apps speak the user's
 * language (cages/cageLanguage.ts), and the tests read the programs' messages in English.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './waitFor';

/** The app line (argv) that starts the agent in a cage. */
export const CAGE_AGENT_APP = [
  'sh', '-c',
  // A script is taken before it runs: one that kills the cage is not run again when it restarts.
  'mkdir -p "$HOME/.agent"; while :; do for f in "$HOME"/.agent/*.sh; do [ -e "$f" ] || continue; mv "$f" "$f.taken"; LC_ALL=C sh "$f.taken" > "$f.out" 2>&1; echo "exit $?" >> "$f.out"; mv "$f.out" "$f.done"; rm -f "$f.taken"; done; sleep 0.05; done',
];

let counter = 0;

/** Runs `script` through the agent of the cage whose home is `home`; resolves with output and status. */
export async function runThroughAgent(home: string, script: string, timeoutMs = 20_000): Promise<{ output: string; code: number }> {
  const dir = join(home, '.agent');
  await waitFor(() => existsSync(dir), 'the cage agent', timeoutMs);
  const name = `${process.pid}-${++counter}.sh`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.tmp`), script, { mode: 0o644 });
  renameSync(join(dir, `${name}.tmp`), join(dir, name));
  const done = join(dir, `${name}.done`);
  await waitFor(() => existsSync(done), 'the agent to run the script', timeoutMs);
  const text = readFileSync(done, 'utf8');
  const m = /exit (\d+)\n$/.exec(text);
  return { output: m ? text.slice(0, m.index) : text, code: m ? Number(m[1]) : -1 };
}
