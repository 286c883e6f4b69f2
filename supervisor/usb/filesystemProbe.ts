/**
 * What filesystem a block device holds, read with util-linux's blkid in low-level probe mode (the
 * device itself, not a cache). Labels come back hex-escaped (ID_FS_LABEL_ENC), so no byte of a
 * hostile label can break the parsing.
 */
import { execFile } from 'node:child_process';
import { requireBinary } from '../cages/binaries';

export interface FilesystemInfo {
  type: string;
  label: string | null;
  uuid: string | null;
}

/** blkid's exit status when it recognises nothing on the device. */
const BLKID_NOTHING_FOUND = 2;

export function probeFilesystem(devnode: string, timeoutMs = 5000): Promise<FilesystemInfo | null> {
  const blkid = requireBinary('blkid');
  return new Promise((resolve, reject) => {
    execFile(blkid, ['-p', '-o', 'udev', devnode], { timeout: timeoutMs, maxBuffer: 64 * 1024 }, (err, stdout) => {
      if (err && (err as unknown as { code?: unknown }).code === BLKID_NOTHING_FOUND) return resolve(null);
      if (err) return reject(new Error(`cannot probe ${devnode}: ${err.message.split('\n')[0]}`));
      const fields = parseUdevExport(stdout);
      const type = fields.get('ID_FS_TYPE');
      if (!type || fields.get('ID_FS_USAGE') !== 'filesystem') return resolve(null);
      resolve({ type, label: decodeEnc(fields.get('ID_FS_LABEL_ENC')), uuid: decodeEnc(fields.get('ID_FS_UUID_ENC')) });
    });
  });
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
