/**
 * Tests: an Xvnc as a cage's (bwrapDriver.ts starts it with no -auth, in namespaces of its own),
 * its socket folder laid out as the cage's: `<root 0700>/tmp/.X11-unix/X0`, the folder root's
 * 0755 once the socket is there (lockSocketFolders). For the X helper's attack tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { testRoot } from './testRoots';
import { waitFor } from './waitFor';

export async function startCageLikeXvnc(prefix: string): Promise<{ xvnc: ChildProcess; x11: string }> {
  const base = testRoot(prefix);
  chmodSync(base, 0o700); // the cage's run folder: root's alone
  const tmp = join(base, 'tmp');
  mkdirSync(tmp, { mode: 0o1777 });
  chmodSync(tmp, 0o1777);
  const x11 = join(tmp, '.X11-unix');
  mkdirSync(x11, { mode: 0o1777 });
  chmodSync(x11, 0o1777);
  const xvnc = spawn('unshare', ['-m', '-n', '--', 'sh', '-c', 'mount --make-rprivate / && mount --bind "$0" /tmp && exec Xvnc :0 -SecurityTypes None -rfbport -1 -nolisten tcp -geometry 800x600', tmp], { stdio: 'ignore' });
  await waitFor(() => existsSync(join(x11, 'X0')), 'the Xvnc socket', 20_000);
  await new Promise((r) => setTimeout(r, 1000));
  chmodSync(x11, 0o755); // lockSocketFolders: root's, 0755
  return { xvnc, x11 };
}
