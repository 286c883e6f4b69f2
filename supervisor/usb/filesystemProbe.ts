/**
 * What filesystem a block device holds, read with util-linux's blkid in low-level probe mode (the
 * device itself, not a cache) — in a sandbox, since blkid parses what a hostile key wrote: bwrap
 * with no network and nothing of the host but /usr and that one device node, under the cages'
 * syscall filter, as a uid 0 holding no capability at all. The device is set read-only (BLKROSET,
 * which needs a capability to undo) while blkid runs, so a subverted probe cannot write to it and
 * cannot reach anything else; the flag is lifted once the sandbox has gone (a loop device keeps
 * it after it is detached, and the next user of that loop device must not inherit it). Labels come back hex-escaped (ID_FS_LABEL_ENC), so no byte of a
 * hostile label can break the parsing here.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireBinary } from '../system/binaries';
import { spawnBwrap } from '../sandbox/bwrapSpawn';

const run = promisify(execFile);

export interface FilesystemInfo {
  type: string;
  label: string | null;
  uuid: string | null;
}

/** blkid's exit status when it recognises nothing on the device. */
const BLKID_NOTHING_FOUND = 2;
const DEVICE_IN_SANDBOX = '/dev/key';
const MAX_OUTPUT = 64 * 1024;

/** A region of the device to probe (a marked key's filesystem), in bytes. */
export interface ProbeRegion {
  offset: number;
  bytes: number;
}

/** The probe's sandbox around `command` (blkid; the tests run attacks in its place), the device at /dev/key. */
export function probeSandboxArgs(devnode: string, command: string[]): string[] {
  return [
    '--unshare-all', '--die-with-parent', '--new-session',
    '--ro-bind', '/usr', '/usr', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/sbin', '/sbin',
    '--proc', '/proc', '--dev', '/dev', '--dev-bind', devnode, DEVICE_IN_SANDBOX,
    '--clearenv', '--setenv', 'PATH', '/usr/bin:/usr/sbin',
    'setpriv', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--',
    ...command,
  ];
}

/** Runs `command` in the probe's sandbox with the device read-only; its exit code and output. */
export async function runProbe(devnode: string, command: string[], timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  await run(requireBinary('blockdev'), ['--setro', devnode]);
  const child = spawnBwrap(probeSandboxArgs(devnode, command), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout = (stdout + d.toString('utf8')).slice(0, MAX_OUTPUT)));
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-1000)));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  await run(requireBinary('blockdev'), ['--setrw', devnode]).catch(() => undefined); // gone meanwhile: nothing to lift
  return { code, stdout, stderr };
}

export async function probeFilesystem(devnode: string, region?: ProbeRegion, timeoutMs = 10_000): Promise<FilesystemInfo | null> {
  const command = [requireBinary('blkid'), '-p', '-o', 'udev', ...(region ? ['-O', String(region.offset), '-S', String(region.bytes)] : []), DEVICE_IN_SANDBOX];
  const { code, stdout, stderr } = await runProbe(devnode, command, timeoutMs);
  if (code === BLKID_NOTHING_FOUND) return null;
  if (code !== 0) throw new Error(`cannot probe ${devnode}: ${code === null ? 'the probe timed out' : stderr.trim().split('\n')[0] || `blkid exited ${code}`}`);
  const fields = parseUdevExport(stdout);
  const type = fields.get('ID_FS_TYPE');
  if (!type || fields.get('ID_FS_USAGE') !== 'filesystem') return null;
  return { type, label: decodeEnc(fields.get('ID_FS_LABEL_ENC')), uuid: decodeEnc(fields.get('ID_FS_UUID_ENC')) };
}

function parseUdevExport(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return fields;
}

/** Undoes blkid's \xHH escaping, then decodes as UTF-8 (invalid sequences become U+FFFD). */
export function decodeEnc(value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const m = /^\\x([0-9a-fA-F]{2})/.exec(value.slice(i, i + 4));
    if (m) {
      bytes.push(parseInt(m[1]!, 16));
      i += 3;
    } else bytes.push(...Buffer.from(value[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
