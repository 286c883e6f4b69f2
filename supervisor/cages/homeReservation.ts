/**
 * A home image holds its whole size on the state filesystem from the moment it is made (allocated,
 * not sparse): whatever a cage writes in its home then never takes one more byte of the filesystem
 * the journal lives on (docs/design.md "Audit journal": the journal must stay writable). A home that cannot
 * be reserved whole, with a margin left for the journal and the supervisor's own state, is not
 * started — with the reason — rather than started on credit the cage could spend.
 *
 * An image from an older version (sparse) is allocated at its next start, on the same terms.
 */
import { execFile } from 'node:child_process';
import { statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from '../system/binaries';

const run = promisify(execFile);
const MiB = 2 ** 20;

/** Kept free on the state filesystem once every home is reserved: the journal's room (years of records). */
export const STATE_MARGIN_BYTES = 64 * MiB;

export class HomeNotReservedError extends Error {
  constructor(
    readonly image: string,
    readonly missingBytes: number,
    readonly freeBytes: number,
    readonly marginBytes: number,
  ) {
    super(
      `home not started: its image needs ${mib(missingBytes)} more of the state filesystem, which has ${mib(freeBytes)} free ` +
        `and keeps ${mib(marginBytes)} for the audit journal; free space there or lower this level's limits.homeBytes`,
    );
    this.name = 'HomeNotReservedError';
  }
}

function mib(bytes: number): string {
  return `${Math.ceil(bytes / MiB)} MiB`;
}

/** Bytes of `image` not yet allocated, were it `size` bytes long. */
export function unallocatedBytes(image: string, size: number): number {
  const st = statSync(image);
  return Math.max(0, Math.max(size, st.size) - st.blocks * 512);
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Allocates `image` to `size` bytes (growing it if shorter), or throws HomeNotReservedError leaving
 * it as it was. Serialised: two cages starting together never both count the same free bytes.
 */
export function reserveImage(image: string, size: number, marginBytes = STATE_MARGIN_BYTES): Promise<void> {
  const next = queue.then(() => reserveNow(image, size, marginBytes));
  queue = next.catch(() => undefined);
  return next;
}

async function reserveNow(image: string, size: number, marginBytes: number): Promise<void> {
  const missing = unallocatedBytes(image, size);
  if (missing === 0) return;
  const fs = statfsSync(dirname(image));
  const free = fs.bavail * fs.bsize;
  if (free - missing < marginBytes) throw new HomeNotReservedError(image, missing, free, marginBytes);
  await allocateImage(image, size);
}

/**
 * Fills whatever holes `image` has up to `size`, keeping every byte already there (fallocate's
 * mode 0; posix_fallocate writes blocks where a filesystem has no fallocate). mkfs.ext4 punches a
 * few holes as it zeroes its tables, hence a second call after it, within the reservation.
 */
export async function allocateImage(image: string, size: number): Promise<void> {
  await run(requireBinary('fallocate'), ['--posix', '--length', String(Math.max(size, statSync(image).size)), image]);
}
