/**
 * When the `cloison` part ends and is started again, the keys its broker had mounted stay mounted
 * (the mounts are root's, made by `usb.mount`) while the new part's broker knows none of them: it
 * finds each key again and its folder in use, and the user can neither eject nor attach it. The
 * manager therefore unmounts every key mount under the media root (`<media>/<level>/<name>`: not
 * the shared root nor a level's folder) before the part starts again, lazily and without a flush as
 * usbUnmountExecutor.ts does for a key pulled out (the part that knew of its writes is gone; a
 * program of the cage holding a file open there must not keep the folder), gives a device mounted
 * read-only its write flag back, and journals each. Synchronous on purpose: the part's restart
 * follows its `restarting` call at once (sandbox/partProcess.ts), and a new part must not find a
 * key half unmounted.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { mediaRootOf } from '../cages/bwrapDriver';

interface KeyMount {
  point: string;
  source: string;
  readOnly: boolean;
}

/** The key mounts in this process's mountinfo: points two folders under the media root (octal escapes undone). */
function keyMounts(media: string): KeyMount[] {
  const out: KeyMount[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const point = fields[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (!point || dirname(dirname(point)) !== media) continue;
    const dash = fields.indexOf('-');
    out.push({ point, source: fields[dash + 2] ?? '', readOnly: (fields[5] ?? '').split(',').includes('ro') });
  }
  return out;
}

/** Unmounts every key under the media root (see above); answers the points unmounted. */
export function unmountKeysOfEndedPart(deps: { runDir: string; journal: { append(kind: string, actor: string, fields: Record<string, string | number | boolean | null>): unknown }; reason: string }): string[] {
  const media = mediaRootOf(deps.runDir);
  const mounts = keyMounts(media);
  for (const mount of mounts) {
    const umount = spawnSync('umount', ['--lazy', mount.point], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (mount.readOnly && /^\/dev\//.test(mount.source)) spawnSync('blockdev', ['--setrw', mount.source], { stdio: 'ignore' });
    try {
      rmdirSync(mount.point);
    } catch {
      // Another mount stacked there, or gone already: the next pass or the next key's mount sees it.
    }
    deps.journal.append('usb.partRestartUnmount', 'supervisor', {
      point: mount.point,
      device: mount.source,
      outcome: umount.status === 0 ? 'unmounted' : `failed: ${(umount.stderr ?? '').trim().slice(0, 200)}`,
      reason: `the cloison part ended (${deps.reason.slice(0, 200)}) and is started again`,
    });
  }
  return mounts.map((m) => m.point);
}
