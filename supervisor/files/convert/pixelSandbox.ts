/**
 * The disposable sandbox one document is rendered in (pixelHelper.mjs): a fresh bubblewrap with
 * no network, an empty tmpfs, nothing of the host but /usr (and LibreOffice's package registry,
 * which Debian keeps in /etc/libreoffice), the staged copy read-only, a uid of
 * its own (no other process on the machine runs as it), the cages' syscall filter (spawnBwrap),
 * and a limit on its tasks; the renderers inside also get the policy's memory as their address
 * space and largest file. Killing bwrap kills the whole sandbox: its command is the pid
 * namespace's first process, which dies with bwrap (--die-with-parent), and the kernel then kills
 * every process of the namespace.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnBwrap } from '../../sandbox/bwrapSpawn';
import { asSandboxUser, sandboxUserNamespace } from '../sandboxUser';
import { CONVERTER_UIDS, ownUids } from '../../system/ownUids';

/** Where the staged copy is bound, read-only, inside the sandbox. */
export const DOCUMENT_IN_SANDBOX = '/run/cloison-convert/document';

/** Converter uids: a range no account or cage uses (system/ownUids.ts); each conversion takes the next one. */
export const CONVERTER_UID_BASE = CONVERTER_UIDS.base;
export const converterUid = ownUids(CONVERTER_UIDS);

function helperPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, 'pixelHelper.mjs'), join(here, 'convert', 'pixelHelper.mjs'), join(here, 'files', 'convert', 'pixelHelper.mjs')]) if (existsSync(candidate)) return candidate;
  throw new Error('pixel helper missing from the installation (pixelHelper.mjs)');
}

export interface PixelSandboxLimits {
  dpi: number;
  maxPages: number;
  maxPageSide: number;
  memoryBytes: number;
  tasks: number;
}

/**
 * A disposable sandbox's bwrap arguments around `command`: nothing of the host but /usr, an empty
 * tmpfs, no network, the uid `uid` and at most `tasks` tasks; `binds` adds read-only files (the
 * helper, the staged copy). The OCR sandbox (ocrSandbox.ts) is the same with fewer binds.
 */
export function disposableSandboxArgs(binds: string[], uid: number | (() => number), tasks: number, command: (node: string) => string[], env: string[] = []): string[] {
  const node = process.execPath;
  const nodeBinds = node.startsWith('/usr/') ? [] : ['--ro-bind', dirname(node), dirname(node)];
  return [
    ...sandboxUserNamespace(),
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net', '--unshare-cgroup-try',
    '--die-with-parent', '--new-session',
    '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/sbin', '/sbin',
    ...nodeBinds,
    '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/dev/shm',
    '--perms', '0755', '--dir', '/run', '--perms', '0755', '--dir', '/run/cloison-convert', '--perms', '0755', '--dir', '/opt',
    '--perms', '0755', '--dir', '/etc',
    ...binds,
    '--chmod', '1777', '/tmp',
    '--chdir', '/tmp',
    '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin', '--setenv', 'HOME', '/tmp/home', '--setenv', 'LANG', 'C.UTF-8', ...env,
    ...asSandboxUser(uid, tasks),
    ...command(node),
  ];
}

/** The sandbox's bwrap arguments around `command` (the helper; the tests run probes in its place). */
export function pixelSandboxArgs(staged: string, uid: number | (() => number), tasks: number, command: (node: string) => string[]): string[] {
  const binds = [
    // LibreOffice's registry is a package file Debian keeps under /etc (a symlink from /usr points there).
    '--ro-bind-try', '/etc/libreoffice', '/etc/libreoffice',
    // The font cache Debian builds from /usr's fonts (fc-cache, run by dpkg's triggers): without it
    // every document's renderers scan every font again, about 2 s of each conversion.
    '--perms', '0755', '--dir', '/var', '--perms', '0755', '--dir', '/var/cache', '--ro-bind-try', '/var/cache/fontconfig', '/var/cache/fontconfig',
    '--ro-bind', helperPath(), '/opt/cloison-pixel-helper.mjs',
    '--ro-bind', staged, DOCUMENT_IN_SANDBOX,
  ];
  return disposableSandboxArgs(binds, uid, tasks, command);
}

/**
 * Starts the helper on a staged copy; its stdout carries the pixels (pixelHelper.mjs). `prefix`
 * runs bwrap inside the conversion's own group (conversionCgroup.ts); `helper` is the command in
 * the helper's place (the tests' stand-ins for what a document's exploit would run).
 */
export function spawnPixelSandbox(staged: string, kind: string, limits: PixelSandboxLimits, options: { uid?: number; prefix?: string[]; helper?: (node: string) => string[] } = {}): ChildProcess {
  const args = pixelSandboxArgs(staged, options.uid ?? converterUid, limits.tasks, options.helper ?? ((node) => [
    node, '/opt/cloison-pixel-helper.mjs', DOCUMENT_IN_SANDBOX, kind, String(limits.dpi), String(limits.maxPages), String(limits.maxPageSide), String(limits.memoryBytes),
  ]));
  return spawnBwrap(args, { stdio: ['ignore', 'pipe', 'pipe'], ...(options.prefix ? { prefix: options.prefix } : {}) });
}
