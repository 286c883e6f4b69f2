/**
 * Test helper: runs testing/selfRestrictionProbe.ts as its own process (behind `prefix`, such as
 * underRootPartRestriction.ts), reads /proc/<pid> — the process and each of its threads — while it
 * waits, then ends it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { privilegeStatus, type PrivilegeStatus } from '../system/selfRestriction';
import type { ProbeReport, ProbeRequest } from './selfRestrictionProbe';

export interface Probed {
  report: ProbeReport;
  status: PrivilegeStatus;
  threads: PrivilegeStatus[];
}

export async function probeRestriction(request: ProbeRequest, prefix: string[] = []): Promise<Probed> {
  const argv = [...prefix, process.execPath, '--import', 'tsx', 'supervisor/testing/selfRestrictionProbe.ts', JSON.stringify(request)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const exited = once(child, 'exit').then(() => Promise.reject(new Error('the probe exited before its report')));
    const [line] = (await Promise.race([once(createInterface({ input: child.stdout! }), 'line'), exited])) as [string];
    const report = JSON.parse(line) as ProbeReport & { scratch: string };
    const pid = child.pid!;
    const status = privilegeStatus(pid);
    const threads = readdirSync(`/proc/${pid}/task`).flatMap((tid) => (existsSync(`/proc/${pid}/task/${tid}`) ? [privilegeStatus(pid, Number(tid))] : []));
    rmSync(report.scratch, { recursive: true, force: true });
    return { report, status, threads };
  } finally {
    child.stdin!.end();
    if (child.exitCode === null) await once(child, 'exit');
  }
}

/**
 * A prefix that runs the probe as `who`, started unprivileged (as a unit's User= would), with the
 * checkout seen read-only at a folder of its own: the checkout itself may sit in a folder only root
 * can enter (a clone in `mktemp -d`, 0700), where the probe could not load its own code. The bind
 * lives in the probe's own mount namespace; every step execs in place, so its pid stays the probe's.
 */
export function asUserOverCheckoutView(who: { uid: number; gid: number }): { prefix: string[]; remove: () => void } {
  const view = mkdtempSync(join(tmpdir(), 'cloison-probeview-'));
  chmodSync(view, 0o755);
  const bindThenRun = 'mount --bind -o ro "$1" "$2" && cd "$2" && shift 2 && exec "$@"';
  return {
    prefix: ['unshare', '--mount', '--', 'sh', '-c', bindThenRun, 'sh', process.cwd(), view, 'setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, '--clear-groups', '--'],
    remove: () => rmSync(view, { recursive: true, force: true }),
  };
}

