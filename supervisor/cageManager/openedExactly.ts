/**
 * Opens a path the authorization checked (requestAuthorization.ts's pathUnder: no `..`, no
 * symbolic link on the way) and checks that what was opened is that very path. Between the check
 * and the act, a folder a cage owns (its home) could be swapped for a link to /etc: the
 * descriptor's own path (/proc/self/fd) says where the kernel really went, and the act is done on
 * the descriptor (fchown, or /proc/self/fd given to the program), never on the path again.
 */
import { closeSync, constants, fstatSync, openSync, readlinkSync, type Stats } from 'node:fs';
import { CloisonError } from '../../shared/errors';

/** A refusal the executor found: answered and journaled like the authorization's (cageManagerServer.ts). */
export function refused(reason: string): CloisonError {
  return new CloisonError('POLICY_DENIED', reason);
}

/** The path opened (not followed if it is a link, not blocking if it is a FIFO), with what it is; the caller closes it. */
export function openedExactly(path: string): { fd: number; stat: Stats } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'ELOOP' ? refused(`path ${JSON.stringify(path.slice(0, 200))} is a symbolic link`) : refused(`path ${JSON.stringify(path.slice(0, 200))} cannot be opened (${code})`);
  }
  try {
    const real = readlinkSync(`/proc/self/fd/${fd}`);
    if (real !== path) throw refused(`path ${JSON.stringify(path.slice(0, 200))} leads elsewhere (${JSON.stringify(real.slice(0, 200))}): a symbolic link on its way`);
    return { fd, stat: fstatSync(fd) };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
