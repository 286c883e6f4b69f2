/**
 * Where a cage's sandbox set-up writes its own failures: the standard error of bwrap, of the
 * control-group join before it and of setpriv after it, in a root-only file of the cage's run
 * folder, for administrators.
 *
 * Trust: nothing a cage program writes reaches this file. The session script's stage 2 (the first
 * line running as the cage's user, before any cage program starts) points its standard error at
 * /dev/null, so no cage process holds the file; the run folder is root's (0700) and never bound
 * into the cage. The supervisor logs the file's head only for an exit the session script does not
 * define, as a log field, never in the reason shown to the user. A file, not a pipe: the cage
 * outlives the supervisor (a pipe would end bwrap with SIGPIPE at its next message).
 */
import { closeSync, constants, fchmodSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

/** How much of the file the log keeps: bwrap's and setpriv's messages are one line each. */
export const START_LOG_HEAD = 400;

export function sandboxStartLogPath(runDir: string): string {
  return join(runDir, 'sandbox-start.log');
}

/** Opens (emptied, root's 0600, never through a link) the file a new sandbox's stderr goes to. */
export function openSandboxStartLog(runDir: string): number {
  const fd = openSync(sandboxStartLogPath(runDir), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  fchmodSync(fd, 0o600);
  return fd;
}

/** The file's first bytes as printable text (control characters shown as spaces), or '' if none. */
export function sandboxStartLogHead(runDir: string, bytes = START_LOG_HEAD): string {
  let fd: number;
  try {
    fd = openSync(sandboxStartLogPath(runDir), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return '';
  }
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n).toString('utf8').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  } finally {
    closeSync(fd);
  }
}
