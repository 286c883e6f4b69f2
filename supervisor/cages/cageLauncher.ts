/**
 * One way into a cage: everything the supervisor starts in a cage (its applications, the
 * launcher's choices, training look-alikes, anything acting as the cage) is a true cage process —
 * the cage's syscall filter, its control group, its namespaces, its uid, no capability — because it
 * is started by the cage's own launcher (cageLauncherInCage.mjs), a process of the cage's session,
 * never entered from outside (docs/design.md, "One way into a cage").
 *
 * API (stable: other modules call these):
 *   launch(cage, { argv, env? })            → Promise<LaunchedProgram>   starts a program, leaves it running
 *   run(cage, { argv, env?, input?, timeoutMs? }) → Promise<RunResult>  runs one to its end: output, exit code
 *   launched(cage)                          → LaunchedProgram[]          what was launched and still runs
 *   stopLaunched(cage, pid, signal?)        → Promise<boolean>           ends one (its whole process group)
 *   onLaunchedExit(cage, listener)          → () => void                 told when a launched program ends
 * `cage` is the RunningCage a driver returned; a cage without a launcher (an external VNC cage, a
 * stopped one) refuses with CAGE_UNAVAILABLE. `env` adds to the cage's fixed environment (HOME,
 * USER, PATH, LANG, DISPLAY=:0, PULSE_SERVER when it has sound); names are checked, values are not
 * interpreted. `pid` is the program's pid as the cage sees it (its own pid namespace).
 *
 * The channel is a connection the launcher makes to the supervisor's socket for that cage, and makes
 * again after a supervisor restart (launcherEndpoint.ts checks it is the launcher's). Replies come
 * from the cage: parsed strictly (size-limited lines, a schema), never trusted — a cage that lies
 * about its own programs lies only about itself.
 */
import type { Socket } from 'node:net';
import { z } from 'zod';
import { bilingual, type Bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import type { RunningCage } from './cageDriver';

export interface LaunchRequest {
  /** Program and arguments; argv[0] is looked up in the cage's PATH. */
  argv: string[];
  /** Added to the cage's fixed environment. */
  env?: Record<string, string>;
}

export interface RunRequest extends LaunchRequest {
  /** Standard input (the command sees end of file after it). */
  input?: string | Buffer;
  /** Killed (its whole process group) after this long; 10 s unless set. */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code; 128 + signal number style is not used: `signal` says it instead (code -1). */
  code: number;
  signal: string | null;
}

export interface LaunchedProgram {
  /** Its pid inside the cage's pid namespace. */
  pid: number;
  argv: string[];
  startedAt: number;
}

export interface CageLauncher {
  launch(request: LaunchRequest): Promise<LaunchedProgram>;
  run(request: RunRequest): Promise<RunResult>;
  launched(): LaunchedProgram[];
  stop(pid: number, signal?: 'SIGTERM' | 'SIGKILL'): Promise<boolean>;
  onExit(listener: (program: LaunchedProgram) => void): () => void;
  /** Whether the launcher still answers (the cage may have killed it). */
  readonly alive: boolean;
  /** Drops this connection (a newer one from the same launcher replaces it). */
  close?(): void;
}

export function launch(cage: RunningCage, request: LaunchRequest): Promise<LaunchedProgram> {
  return launcherOf(cage).launch(request);
}

export function run(cage: RunningCage, request: RunRequest): Promise<RunResult> {
  return launcherOf(cage).run(request);
}

export function launched(cage: RunningCage): LaunchedProgram[] {
  return cage.launcher?.launched() ?? [];
}

export function stopLaunched(cage: RunningCage, pid: number, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<boolean> {
  return launcherOf(cage).stop(pid, signal);
}

export function onLaunchedExit(cage: RunningCage, listener: (program: LaunchedProgram) => void): () => void {
  return cage.launcher?.onExit(listener) ?? (() => undefined);
}

function launcherOf(cage: RunningCage): CageLauncher {
  if (!cage.launcher) throw new CloisonError(
      'CAGE_UNAVAILABLE',
      bilingual(
        'Cloison ne peut pas lancer de programme dans cette cage : ce n’est pas une cage bwrap',
        'Cloison cannot start programs in this cage: it is not a bwrap cage',
      ),
    );
  return cage.launcher;
}

/** Limits of what a request may carry (the launcher checks them again on its side). */
const MAX_ARGS = 256;
const MAX_ARG = 64 * 1024;
const MAX_INPUT = 2 * 1024 * 1024;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** A reply line: two base64 outputs of at most 1 MiB each, and change. */
const MAX_REPLY_LINE = 3 * 1024 * 1024;
const LAUNCH_REPLY_MS = 10_000;
/** How long past its own timeout a run may take to be answered. */
const RUN_GRACE_MS = 5_000;

const replySchema = z.union([
  z.object({ id: z.number().int(), pid: z.number().int().positive() }).strict(),
  z.object({ id: z.number().int(), error: z.string().max(1000) }).strict(),
  z.object({ id: z.number().int(), stopped: z.boolean() }).strict(),
  z
    .object({
      id: z.number().int(),
      code: z.number().int().nullable(),
      signal: z.string().max(20).nullable(),
      stdout: z.string().max(MAX_REPLY_LINE).regex(/^[A-Za-z0-9+/]*={0,2}$/),
      stderr: z.string().max(MAX_REPLY_LINE).regex(/^[A-Za-z0-9+/]*={0,2}$/),
    })
    .strict(),
  z.object({ event: z.literal('exit'), pid: z.number().int().positive(), code: z.number().int().nullable(), signal: z.string().max(20).nullable() }).strict(),
  // Sent on every connection: what it started and still runs (a new supervisor knows them again).
  z
    .object({
      event: z.literal('hello'),
      programs: z.array(z.object({ pid: z.number().int().positive(), argv: z.array(z.string().max(MAX_ARG)).min(1).max(MAX_ARGS), startedAt: z.number().int().nonnegative() }).strict()).max(4096),
    })
    .strict(),
]);
type Reply = z.infer<typeof replySchema>;

/** The in-cage launcher's refusal (English, from a program that knows no locale) in French. */
export function launcherErrorFr(english: string): string {
  const start = /^cannot start (.*): (\w+)$/s.exec(english);
  if (!start) return `détail technique (en anglais) : ${english}`;
  const why = { ENOENT: 'programme introuvable dans la cage', EACCES: 'permission refusée' }[start[2]!] ?? start[2]!;
  return `impossible de lancer ${start[1]} : ${why}`;
}

function checkRequest(request: LaunchRequest): void {
  const { argv, env = {} } = request;
  const bad = (why: string) => new CloisonError('BAD_REQUEST', `cannot start this in a cage: ${why}`);
  if (!Array.isArray(argv) || argv.length < 1 || argv.length > MAX_ARGS) throw bad(`argv must hold 1 to ${MAX_ARGS} strings`);
  if (argv[0] === '' || !argv.every((a) => typeof a === 'string' && a.length <= MAX_ARG && !a.includes('\0'))) throw bad('an argument is empty, too long or holds NUL');
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name) || typeof value !== 'string' || value.length > MAX_ARG || value.includes('\0')) throw bad(`bad environment entry ${name.slice(0, 64)}`);
  }
}

/** The supervisor's end of a cage's launcher channel. `channel`: the socket pair's end the supervisor holds. */
export function connectCageLauncher(channel: Socket, level: string): CageLauncher {
  let nextId = 1;
  let closed: Bilingual | null = null;
  const pending = new Map<number, { settle(reply: Reply | Error): void }>();
  const programs = new Map<number, LaunchedProgram>();
  const exitListeners = new Set<(program: LaunchedProgram) => void>();

  const unavailable = (why: Bilingual) => new CloisonError('CAGE_UNAVAILABLE', bilingual(`cage « ${level} » : ${why.fr}`, `cage "${level}": ${why.en}`));
  const close = (why: Bilingual) => {
    if (closed) return;
    closed = why;
    channel.destroy();
    const err = unavailable(why);
    for (const p of pending.values()) p.settle(err);
    pending.clear();
    // No exit notice can come any more: a list kept would only go stale.
    programs.clear();
  };

  const receive = (line: string) => {
    let parsed: Reply;
    try {
      parsed = replySchema.parse(JSON.parse(line));
    } catch {
      return close(bilingual('son lanceur a envoyé une réponse malformée ; aucun programme n’y démarre avant son redémarrage', 'its launcher sent a malformed reply; programs cannot start there until it restarts'));
    }
    if ('event' in parsed && parsed.event === 'hello') {
      for (const p of parsed.programs) programs.set(p.pid, { pid: p.pid, argv: p.argv, startedAt: p.startedAt });
      return;
    }
    if ('event' in parsed) {
      const program = programs.get(parsed.pid);
      if (!program) return;
      programs.delete(parsed.pid);
      for (const l of exitListeners) l(program);
      return;
    }
    const waiter = pending.get(parsed.id);
    pending.delete(parsed.id);
    waiter?.settle(parsed);
  };

  // Lines, at most MAX_REPLY_LINE each; kept as chunks so a long reply costs no quadratic copying.
  let parts: Buffer[] = [];
  let size = 0;
  channel.on('data', (data: Buffer) => {
    let from = 0;
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, from)) {
      parts.push(data.subarray(from, nl));
      const line = Buffer.concat(parts).toString('utf8');
      parts = [];
      size = 0;
      from = nl + 1;
      receive(line);
      if (closed) return;
    }
    parts.push(data.subarray(from));
    size += data.length - from;
    if (size > MAX_REPLY_LINE) close(bilingual('son lanceur a envoyé une réponse trop longue ; aucun programme n’y démarre avant son redémarrage', 'its launcher sent an oversized reply; programs cannot start there until it restarts'));
  });
  const stopped = bilingual('son lanceur s’est arrêté ; aucun programme n’y démarre avant son redémarrage', 'its launcher has stopped; programs cannot start there until it restarts');
  channel.on('error', () => close(stopped));
  channel.on('close', () => close(stopped));

  const ask = (message: Record<string, unknown>, timeoutMs: number): Promise<Reply> =>
    new Promise((resolve, reject) => {
      if (closed) return reject(unavailable(closed));
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(unavailable(bilingual(`son lanceur n’a pas répondu en ${timeoutMs} ms`, `its launcher did not answer within ${timeoutMs} ms`)));
      }, timeoutMs);
      pending.set(id, {
        settle: (reply) => {
          clearTimeout(timer);
          if (reply instanceof Error) reject(reply);
          else if ('error' in reply) reject(new CloisonError('WRONG_STATE', bilingual(`cage « ${level} » : ${launcherErrorFr(reply.error)}`, `cage "${level}": ${reply.error}`)));
          else resolve(reply);
        },
      });
      channel.write(`${JSON.stringify({ id, ...message })}\n`);
    });

  return {
    get alive() {
      return closed === null;
    },
    async launch(request) {
      checkRequest(request);
      const reply = await ask({ op: 'launch', argv: request.argv, env: request.env ?? {} }, LAUNCH_REPLY_MS);
      if (!('pid' in reply) || 'event' in reply) throw new CloisonError('INTERNAL', `cage "${level}": its launcher answered a launch with something else`);
      const program = { pid: reply.pid, argv: [...request.argv], startedAt: Date.now() };
      programs.set(program.pid, program);
      return program;
    },
    async run(request) {
      checkRequest(request);
      const input = Buffer.from(request.input ?? '');
      if (input.length > MAX_INPUT) throw new CloisonError('LIMIT_EXCEEDED', `cannot run this in a cage: its input is over ${MAX_INPUT} bytes`);
      const timeoutMs = request.timeoutMs ?? 10_000;
      const reply = await ask({ op: 'run', argv: request.argv, env: request.env ?? {}, input: input.toString('base64'), timeoutMs }, timeoutMs + RUN_GRACE_MS);
      if (!('stdout' in reply)) throw new CloisonError('INTERNAL', `cage "${level}": its launcher answered a run with something else`);
      return {
        stdout: Buffer.from(reply.stdout, 'base64').toString('utf8'),
        stderr: Buffer.from(reply.stderr, 'base64').toString('utf8'),
        code: reply.code ?? -1,
        signal: reply.signal,
      };
    },
    launched: () => [...programs.values()],
    async stop(pid, signal = 'SIGTERM') {
      if (!programs.has(pid)) return false;
      const reply = await ask({ op: 'stop', pid, signal }, LAUNCH_REPLY_MS);
      return 'stopped' in reply && reply.stopped;
    },
    onExit(listener) {
      exitListeners.add(listener);
      return () => exitListeners.delete(listener);
    },
    close: () => close(stopped),
  };
}
