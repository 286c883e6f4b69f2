/**
 * Gives the C heap's free pages back to the system (glibc's malloc_trim): a Node process's start —
 * its bundle and code cache read, compiled, its policy parsed — leaves megabytes free inside
 * malloc's arenas, which glibc keeps resident (it returns only the top of the main heap by
 * itself). One call in the cage manager after its start: 29 → 23 MiB private dirty (bench/RESULTS.md,
 * apps-memory). A page given back is faulted in again if malloc needs it: nothing else changes.
 *
 * koffi calls libc directly, as for SO_PEERCRED (sandbox/peerCredentials.ts); the call's
 * madvise and brk are in every part's syscall filter. Without glibc's malloc_trim (another libc),
 * nothing is done.
 */
import koffi from 'koffi';

/** After the start's own garbage is collected, then now and again: a day's bursts leave free pages too. */
export const TRIM_FIRST_MS = 20_000;
export const TRIM_EVERY_MS = 120_000;

let mallocTrim: ((pad: number) => number) | null | undefined;

/** libc's malloc_trim, looked up once (before a part's own restriction: a library's opening may be refused after). */
function bind(): void {
  if (mallocTrim !== undefined) return;
  try {
    mallocTrim = koffi.load('libc.so.6').func('int malloc_trim(size_t)') as unknown as (pad: number) => number;
  } catch {
    mallocTrim = null;
  }
}

/** One malloc_trim(0); false where libc has none. */
export function trimMalloc(): boolean {
  bind();
  if (!mallocTrim) return false;
  mallocTrim(0);
  return true;
}

/**
 * Trims TRIM_FIRST_MS from now, then every TRIM_EVERY_MS; the timers never keep the process
 * alive. Called first thing in a process's main, before it restricts itself.
 */
export function trimMallocFromNowOn(first = TRIM_FIRST_MS, every = TRIM_EVERY_MS): () => void {
  bind();
  let repeat: NodeJS.Timeout | null = null;
  const once = setTimeout(() => {
    trimMalloc();
    repeat = setInterval(trimMalloc, every).unref();
  }, first).unref();
  return () => {
    clearTimeout(once);
    if (repeat) clearInterval(repeat);
  };
}
