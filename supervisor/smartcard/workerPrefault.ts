/**
 * The workers' page-table fill preloaded into each level's pkcs11proxyd (native/workerPrefault.c):
 * each worker maps its read-only code and data in one call at its fork, and copies the controller's
 * heap pages it would write (bounded), while it waits for its connection, instead of faulting them
 * in page by page while an application waits on it.
 *
 * Trust rule: as for the OpenSSL pre-initialisation, the library runs inside the process that
 * parses the cages' bytes, so it is loaded only if root alone could have written it
 * (checkOpensslPreinit); anything else and the proxy starts without it.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WORKER_PREFAULT_NAME = 'workerPrefault.so';

/** Where the build writes it: out/supervisor, beside the bundles (the same folder from the bundle or the sources). */
export function builtWorkerPrefault(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'out', 'supervisor', WORKER_PREFAULT_NAME);
}
