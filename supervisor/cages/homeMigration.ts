/**
 * A home from before images (a plain folder, the cage's uid's) moved into the cage's new image.
 *
 * That folder is a tree the cage's uid may still change: a process of it that outlived its cage
 * (on a host without the control group's reach) works from inside it. Root walking it by path —
 * Node's recursive rmSync, or `cp -a` reading it — follows whatever link that process swaps in
 * mid-walk: root's unlinks land in a root-only folder, root's reads copy root-only files into the
 * home (homeMigrateRace.attack.test.ts). So root walks none of it: it is measured and copied as the
 * cage's uid, which reads only what it may read anyway, and the old folder is emptied as its owner
 * (system/ownedFolders.ts). The home's files are the cage's thereafter, whoever owned them before.
 *
 * A copy that fails (the old home bigger than the image, a file the uid cannot read, the time
 * out) loses nothing and is tried again at the next start: the image is filled under a name of
 * its own and takes the image's name only once whole (cageMounts.ts), the old home is put back
 * where it was, and the start is refused saying why (homeMigration.attack.test.ts).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, existsSync, lstatSync, openSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { requireBinary } from '../system/binaries';
import { removeOwnedFolders } from '../system/ownedFolders';
import { refuseDescriptorsOnStdio } from '../system/refusePassedDescriptors';

const COPY_TIMEOUT_MS = 10 * 60_000;
const MiB = 2 ** 20;
const COULD_NOT = 'the home from before images could not be copied into its image';
const KEPT = 'it stays where it was, copied again at the next start';

/** Where the old home waits while it is copied (the level's folder is root's: the uid cannot rename it back). */
export function oldHomeOf(home: string): string {
  return `${home}.migrating`;
}

/** The image being filled, beside the image: never taken for a home until renamed into place. */
export function fillingImageOf(homeImage: string): string {
  return `${homeImage}.migrating`;
}

/**
 * A migration cut short (the manager killed mid-copy): no image under its name, the old home aside.
 * The old home goes back where it was, the half-filled image away: the start that follows migrates
 * it afresh. A home folder that is not the empty mount point left behind keeps both: refused, said.
 */
export function putBackInterruptedMigration(home: string, homeImage: string): void {
  const old = oldHomeOf(home);
  if (!existsSync(old) || existsSync(homeImage)) return;
  rmSync(fillingImageOf(homeImage), { force: true });
  if (lstatOrNull(home)) {
    try {
      rmdirSync(home); // the empty mount point: rmdir follows nothing and removes nothing else
    } catch (err) {
      throw new Error(`the home from before images waits in ${basename(old)}, but ${basename(home)} is there too (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): neither is taken; move one of them aside`);
    }
  }
  renameSync(old, home);
}

/** Refuses, before any image is made, an old home that cannot fit `homeBytes` (measured as the uid); its size in bytes, null when unknown. */
export async function measureOldHome(oldHome: string, uid: number, homeBytes: number): Promise<number | null> {
  const { code, stdout } = await runAsUid(oldHome, uid, [requireBinary('du'), '-s', '-x', '-B1', '--', '.'], null);
  // du says what it could not read (status 1) and sums the rest: the copy will say it too.
  const bytes = code === 0 || code === 1 ? Number(/^(\d+)\s/.exec(stdout)?.[1] ?? NaN) : NaN;
  if (!Number.isFinite(bytes)) return null;
  if (bytes > homeBytes) throw new Error(tooBig(bytes, homeBytes));
  return bytes;
}

/** Copies `oldHome`'s content into the mounted `home` as `uid` (`room`: the image's free bytes). */
export async function copyOldHome(oldHome: string, home: string, uid: number, sizes: { oldBytes: number | null; homeBytes: number; room: number }): Promise<void> {
  if (sizes.oldBytes !== null && sizes.oldBytes > sizes.room) throw new Error(tooBig(sizes.oldBytes, sizes.homeBytes));
  await copyAsUid(oldHome, home, uid, sizes);
}

/** The old folder, once copied: emptied as its owner, then removed. */
export async function removeOldHome(oldHome: string): Promise<void> {
  // What the uid could not delete (a root-owned folder left in its old home) stays set aside
  // beside the image under a name of its own (removeOwnedFolders returns it; nothing here has a
  // journal to say it in): the copy is made, the cage starts, and nothing of it is read again.
  await removeOwnedFolders([oldHome]).catch(() => undefined);
}

function tooBig(oldBytes: number | null, homeBytes: number): string {
  return `${COULD_NOT}: the old home${oldBytes === null ? '' : ` (${Math.ceil(oldBytes / MiB)} MiB)`} does not fit the image (${Math.floor(homeBytes / MiB)} MiB): raise this level's limits.homeBytes; ${KEPT}`;
}

/**
 * `cp -a` as `uid`, started by root inside the old folder (its parent is root's: nothing there can
 * be swapped), the home reached through an inherited descriptor: the uid needs no search right on
 * the folders above either (the state folder is root's alone).
 */
async function copyAsUid(from: string, home: string, uid: number, sizes: { oldBytes: number | null; homeBytes: number }): Promise<void> {
  const target = openSync(home, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const { code, signal, stderr } = await runAsUid(from, uid, [requireBinary('cp'), '-a', '--no-preserve=ownership', '--', './.', '/proc/self/fd/3/'], target);
    if (code === 0) return;
    if (/No space left on device/.test(stderr)) throw new Error(tooBig(sizes.oldBytes, sizes.homeBytes));
    throw new Error(`${COULD_NOT} (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(0, 3).join('; ')}; ${KEPT}`);
  } finally {
    closeSync(target);
  }
}

/** `command` run as `uid` (no groups, no new privileges) from inside `cwd`; `fd3`: a descriptor it inherits as 3. */
async function runAsUid(cwd: string, uid: number, command: string[], fd3: number | null): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const argv = ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--no-new-privs', '--', ...command];
  const child = spawn(requireBinary('setpriv'), argv, { cwd, timeout: COPY_TIMEOUT_MS, env: { PATH: '/usr/bin:/bin', LANG: 'C' }, stdio: ['ignore', 'pipe', 'pipe', ...(fd3 === null ? [] : [fd3])] });
  refuseDescriptorsOnStdio(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => void (stdout = `${stdout}${chunk.toString()}`.slice(0, 2000)));
  child.stderr!.on('data', (chunk: Buffer) => void (stderr = `${stderr}${chunk.toString()}`.slice(-2000)));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr };
}

function lstatOrNull(path: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
