/**
 * Who runs inside the file sandboxes (the converter's, the OCR's, the scanner's), and how the
 * sandbox becomes them.
 *
 * Root (the supervisor in one piece): bwrap as root, then setpriv to a uid of the sandbox's own
 * with no capability, and prlimit holding the tasks of that uid.
 * Not root (the `cloison` part, #29): bwrap makes a user namespace of `cloison`'s own; the
 * sandbox's uid is mapped onto `cloison` and bwrap drops every capability before the command
 * runs, and --disable-userns forbids a namespace below it. No root anywhere in the chain that
 * parses the document. The uid outside is then the part's own: the sandbox's namespaces (pid,
 * mount, network) are what keep the part's processes and files out of its reach. Its memory and
 * tasks are held by a control group of the sandbox's own below the part's (conversionCgroup.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';

export const rootless = (): boolean => process.getuid?.() !== 0;

/**
 * The uid inside a user namespace of the part's: any uid there is the part's outside (bwrap takes
 * no uid above 2^31, where the converters' per-run uids are).
 */
const NOBODY = 65534;

/** bwrap's options making the sandbox's user: a user namespace when not root. */
export function sandboxUserNamespace(): string[] {
  return rootless() ? ['--unshare-user', '--disable-userns', '--uid', String(NOBODY), '--gid', String(NOBODY)] : [];
}

/**
 * Tasks of the real uid now, threads included: RLIMIT_NPROC counts them all. Rootless, the
 * sandbox's uid outside is the part's, whose own threads (and other sandboxes) already count.
 */
export function tasksOfUid(uid: number): number {
  let count = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid) count += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
    } catch {
      // gone meanwhile
    }
  }
  return count;
}

/**
 * The command's prefix inside the sandbox: at most `tasks` more tasks, then the sandbox's user.
 * `uid` may be its source (ownUids.ts), drawn only as root: rootless, the uid outside is the part's,
 * and a source whose range subordinate grants hold (it throws) must not refuse a run it plays no part in.
 */
export function asSandboxUser(uid: number | (() => number), tasks: number | null): string[] {
  if (rootless()) return tasks === null ? [] : ['prlimit', `--nproc=${tasksOfUid(process.getuid!()) + tasks}`, '--'];
  const limit = tasks === null ? [] : ['prlimit', `--nproc=${tasks}`, '--'];
  const own = typeof uid === 'number' ? uid : uid();
  return [...limit, 'setpriv', `--reuid=${own}`, `--regid=${own}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--'];
}
