/**
 * Test helper: where a process that should have got on is waiting — each thread's state, the
 * kernel function it sleeps in and, through gdb when present, its user-space stack. For the
 * failure message of a test whose program seems stuck (read once, when the test fails).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '?';
  }
}

export function whereStuck(pid: number): string {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return `process ${pid} has gone`;
  }
  const lines = threads.map((tid) => {
    const stat = read(`/proc/${pid}/task/${tid}/stat`);
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] || '?';
    return `${tid} ${read(`/proc/${pid}/task/${tid}/comm`)} ${state} in ${read(`/proc/${pid}/task/${tid}/wchan`)}`;
  });
  const gdb = spawnSync('gdb', ['-p', String(pid), '-batch', '-nx', '-ex', 'thread apply all bt 12'], { encoding: 'utf8', timeout: 20_000 });
  const stacks = (gdb.stdout ?? '').split('\n').filter((l) => /^(Thread|#)/.test(l)).join('\n');
  return `threads: ${lines.join('; ')}${stacks ? `\nstacks:\n${stacks}` : gdb.error ? ` (gdb: ${gdb.error.message})` : ''}`;
}
