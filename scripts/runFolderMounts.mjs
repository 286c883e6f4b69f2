// What the cage manager mounts in its run folder for its part: the part's staging area (a tmpfs,
// supervisor/files/stagingArea.ts) and the media root (a shared bind, the USB keys' mounts below
// it). The manager takes them down at its stop; one that died on its way (killed, or a signal
// before its handlers were set) left them mounted. npm start, once everything it started has
// ended, takes down what is left: the staging area always (the part's passing files only), the
// media root only with nothing mounted below it — a key there may be a cage's left running for
// the next manager to adopt, and that manager's start takes the media root back itself.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The part's staging area and the media root, as the manager names them (fileStaging.ts, bwrapDriver.ts). */
const STAGING = 'part-staging';
const MEDIA = 'media';

/** The mount points of this process's namespace (mountinfo's octal escapes undone). */
function mountPoints() {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => (line.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
    .filter(Boolean);
}

/** Takes down what a manager of `runDir` left mounted there; returns the mount points taken down. */
export function unmountLeftByManager(runDir) {
  const run = resolve(runDir);
  const staging = join(run, STAGING);
  const media = join(run, MEDIA);
  const points = mountPoints();
  const below = (folder) => points.filter((p) => p.startsWith(`${folder}/`));
  const left = [];
  // A tmpfs mounted over an earlier one is taken down layer by layer.
  for (const point of [...points.filter((p) => p === staging), ...(below(media).length === 0 ? points.filter((p) => p === media) : [])]) {
    // Lazy: a part still holding a file there does not keep it mounted.
    if (spawnSync('umount', ['--lazy', point], { stdio: 'ignore' }).status === 0) left.push(point);
  }
  return left;
}
