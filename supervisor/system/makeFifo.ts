/**
 * A FIFO made without a process: mkfifo(3) in libc through koffi (Node has no binding for it),
 * where `mkfifo -m MODE` was executed synchronously — on the cage manager's event loop while it
 * starts the cages (#26: the manager's answers waited on it). As mkfifo(1) -m: the node is made
 * (never over an existing name, never through a link: EEXIST), then given exactly its mode.
 */
import { chmodSync } from 'node:fs';
import { constants } from 'node:os';
import koffi from 'koffi';

type Mkfifo = (path: string, mode: number) => number;
let mkfifo: Mkfifo | null = null;

const errnoName = (errno: number): string => Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;

/** Makes the FIFO `path` with `mode` (the umask's bits given back by a chmod, as mkfifo -m does); throws with the errno's name. */
export function makeFifo(path: string, mode: number): void {
  mkfifo ??= koffi.load('libc.so.6').func('int mkfifo(const char *, unsigned int)') as unknown as Mkfifo;
  // Made at most `mode` (less the umask): never wider than asked, even before the chmod.
  if (mkfifo(path, mode) !== 0) {
    const code = errnoName(koffi.errno());
    throw Object.assign(new Error(`mkfifo ${path} failed: ${code}`), { code });
  }
  chmodSync(path, mode);
}
