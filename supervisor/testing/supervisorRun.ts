/**
 * Test helper: the built supervisor as its own process on a test's folders (to kill it for real
 * and start it again on the same ones), and a viewer through its gateway as a shell opens one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { handshake, wsLink } from './rfbViewer';
import { rpcClient } from './rpcClient';
import { isManagerOwnLine, supervisorCommand } from './splitSupervisor';

export interface SupervisorRun {
  child: ChildProcess;
  /** The browser host's origin (its gateway). */
  origin: string;
  /** Its last lines on stderr (warnings and errors): what a failing test prints. */
  recentLog: () => string;
}

const KEPT_LOG_LINES = 40;

/** The last lines read from `stream`, kept as they come (a test's supervisor logs warnings and errors there). */
export function recentLines(stream: Readable): () => string {
  const kept: string[] = [];
  createInterface({ input: stream }).on('line', (line) => {
    kept.push(line.slice(0, 400));
    if (kept.length > KEPT_LOG_LINES) kept.shift();
  });
  return () => kept.join('\n');
}

/**
 * Starts out/supervisor/main.js with a browser shell on a free port; resolves at its "ready" line.
 * Split (CLOISON_SPLIT=1; vitest's default is the root supervisor alone), the cage manager with the supervisor as its cloison part on these folders
 * (splitSupervisor.ts); `child` is then the manager.
 */
export async function runSupervisor(policyFile: string, stateDir: string, runDir: string, how: { prefix?: string[]; extraArgs?: string[] } = {}): Promise<SupervisorRun> {
  const command = supervisorCommand(stateDir, runDir);
  // `prefix` runs it the way a service manager would (a mount namespace, a control group of its own).
  const argv = [...(how.prefix ?? []), process.execPath, command.script, '--policy', policyFile, ...command.folders, '--browser-shell', '--port', '0', ...(how.extraArgs ?? [])];
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CLOISON_LOG_LEVEL: 'warn' },
  });
  const recentLog = recentLines(child.stderr!);
  const origin = await new Promise<string>((resolve, reject) => {
    let origin = '';
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const said = JSON.parse(line) as { listening?: boolean; ready?: boolean; partFailed?: boolean; reason?: string; origin: string };
      if (said.partFailed) reject(new Error(`the cloison part did not start: ${said.reason}`));
      if (isManagerOwnLine(said)) return;
      if (said.listening) origin = said.origin;
      if (said.ready) resolve(origin);
    });
    child.once('exit', (code) => reject(new Error(`supervisor exited ${code}; its last lines:\n${recentLog()}`)));
  });
  return { child, origin, recentLog };
}

/**
 * A viewer of `level` through the gateway: a ticket from the shell socket, then past ServerInit.
 * Tried again while the gateway is busy warming up (a ticket lives 10 s; the warm-up may take more).
 * `recentLog` (the run's) is added to a failure's message.
 */
export async function viewerConnects(runDir: string, origin: string, level: string, timeoutMs = 60_000, recentLog?: () => string): Promise<void> {
  const withLog = (err: Error) => (recentLog ? new Error(`${err.message}; the supervisor's last lines:\n${recentLog()}`) : err);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rpc = await rpcClient(join(runDir, 'supervisor.sock'));
    const ticket = await rpc.call('vnc.ticket', { level });
    rpc.close();
    if (!ticket.ok) throw withLog(new Error(`no ticket for ${level}: ${ticket.error?.message}`));
    try {
      const link = await wsLink(`${origin.replace('http', 'ws')}/vnc?level=${level}&ticket=${(ticket.result as { ticket: string }).ticket}`, false, origin);
      try {
        await Promise.race([
          handshake(link, 24 + `cloison-${level}`.length),
          link.closed.then((c) => Promise.reject(new Error(`viewer closed: ${c.code} ${c.reason}`))),
          new Promise((_, reject) => setTimeout(() => reject(new Error('no ServerInit within 10 s')), 10_000)),
        ]);
        return;
      } finally {
        link.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw withLog(err as Error);
    }
  }
}
