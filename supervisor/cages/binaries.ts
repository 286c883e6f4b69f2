/**
 * Finds the host programs cages need and names the Debian package for any that is missing, so a
 * missing binary gives "Xvnc not found: install tigervnc-standalone-server", not a stack trace.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const DEBIAN_PACKAGE_OF: Record<string, string> = {
  bwrap: 'bubblewrap',
  Xvnc: 'tigervnc-standalone-server',
  slirp4netns: 'slirp4netns',
  openbox: 'openbox',
  xterm: 'xterm',
  xedit: 'x11-apps',
  xclip: 'xclip',
  setpriv: 'util-linux',
  xprop: 'x11-utils',
  blkid: 'util-linux',
  blockdev: 'util-linux',
  mount: 'mount',
  umount: 'mount',
  sync: 'coreutils',
};

export function findBinary(name: string, path = process.env.PATH ?? '/usr/bin:/bin'): string | null {
  if (name.includes('/')) return canExecute(name) ? name : null;
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (canExecute(candidate)) return candidate;
  }
  return null;
}

function canExecute(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export class MissingBinaryError extends Error {
  constructor(readonly binary: string) {
    const pkg = DEBIAN_PACKAGE_OF[binary];
    super(pkg ? `${binary} not found: install ${pkg}` : `${binary} not found in PATH`);
    this.name = 'MissingBinaryError';
  }
}

export function requireBinary(name: string): string {
  const found = findBinary(name);
  if (!found) throw new MissingBinaryError(name);
  return found;
}
