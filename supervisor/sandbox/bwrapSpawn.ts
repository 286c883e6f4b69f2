/**
 * Starts bubblewrap with Cloison's syscall filter: every sandbox the supervisor makes (cages, the
 * clipboard and file helpers) goes through here, so none can start without the filter.
 *
 * The filter travels on a pipe bwrap reads to its end (`--seccomp FD`) and installs just before
 * it runs the sandboxed command, after its own namespace and mount set-up.
 */
import { spawn, type ChildProcess, type IOType } from 'node:child_process';
import type { Writable } from 'node:stream';
import { requireBinary } from '../system/binaries';
import { refuseDescriptorsOnStdio } from '../system/refusePassedDescriptors';
import { seccompProgram, type DeniedSyscall } from './seccompFilter';

export interface BwrapSpawnOptions {
  /** stdio of the bwrap process; the filter's pipe is added after these. */
  stdio: Array<IOType | 'ipc' | number>;
  /** Runs bwrap through this command line first (e.g. joining the cage's cgroups). */
  prefix?: string[];
  /** bwrap's environment (default: the supervisor's). */
  env?: NodeJS.ProcessEnv;
  /** The filter's rules: DENIED_SYSCALLS by default; a variant holds them all and adds its own (SINGLE_PROCESS_DENIED_SYSCALLS). */
  denied?: readonly DeniedSyscall[];
}

export function spawnBwrap(args: string[], options: BwrapSpawnOptions): ChildProcess {
  const bwrap = requireBinary('bwrap');
  const fd = options.stdio.length;
  const argv = [...(options.prefix ?? []), bwrap, '--seccomp', String(fd), ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: [...options.stdio, 'pipe'], ...(options.env ? { env: options.env } : {}) });
  // Node's stdio 'pipe's are Unix socketpairs: a sandboxed program (compromised by what it parses)
  // could pass a descriptor whose close, in the supervisor's thread, blocks it. Set before anything
  // sandboxed runs: spawn returns once bwrap is exec'd, before its set-up and the command's exec.
  refuseDescriptorsOnStdio(child);
  const pipe = child.stdio[fd] as Writable | null;
  // bwrap may exit before reading (bad arguments): its exit says why, not an EPIPE here.
  pipe?.on('error', () => undefined);
  pipe?.end(seccompProgram(options.denied));
  return child;
}
