/**
 * The waiting worker's module initialisation preloaded into each level's pkcs11proxyd
 * (native/workerModuleInit.c): each worker forked ahead of its connection calls SoftHSM2's
 * C_Initialize while it waits, keeps that view valid (a snapshot of the token's files taken before
 * and after it, a thread redoing the init after any change inotify reports), and at the
 * application's C_Initialize checks the view against the files then, initialising again only if
 * anything changed — so the module's view of the token is the one the application asked for, and
 * the served worker no longer pays the init (4-5 ms of its CPU, bench/RESULTS.md). Until the
 * application's C_Initialize every function answers "not initialised", as the module would. Other
 * modules (a card through pcscd) are initialised when the application asks, as before: no file to
 * watch keeps their view valid.
 *
 * Trust rule: as for the OpenSSL pre-initialisation, the library runs inside the process that
 * parses the cages' bytes, so it is loaded only if root alone could have written it
 * (checkOpensslPreinit); anything else and the proxy starts without it.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WORKER_MODULE_INIT_NAME = 'workerModuleInit.so';

/** Where the build writes it: out/supervisor, beside the bundles (the same folder from the bundle or the sources). */
export function builtWorkerModuleInit(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'out', 'supervisor', WORKER_MODULE_INIT_NAME);
}
