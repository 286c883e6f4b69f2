/**
 * The cage manager's run folder, which its `cloison` part must pass through to reach the manager's
 * socket (its only way in: the socket's own checks decide who is answered). A folder the root
 * supervisor made before (`npm start -- --single`, or an install from before the split, #29) is
 * 0700: the part would be refused the socket and never start. Made, or given search permission
 * for the group and others where it lacks it — search only, never listing, as the packaged unit's
 * RuntimeDirectoryMode=0711 — through a descriptor opened without following a link at its name.
 */
import { closeSync, constants, fchmodSync, fstatSync, mkdirSync, openSync } from 'node:fs';

export function managerRunFolder(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o711 });
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const mode = fstatSync(fd).mode & 0o7777;
    if ((mode & 0o011) !== 0o011) fchmodSync(fd, mode | 0o011);
  } finally {
    closeSync(fd);
  }
}
