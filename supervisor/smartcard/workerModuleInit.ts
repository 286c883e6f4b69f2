/**
 * The workers' module initialisation preloaded into each level's pkcs11proxyd
 * (native/workerModuleInit.c): each worker starts the module's C_Initialize in a thread of its own
 * as soon as it accepts its connection, beside the application's first two calls (C_SetupArch,
 * C_LoadModule), and answers the application's C_Initialize with that one's result, instead of
 * initialising the module (SoftHSM2's configuration and object store, a card's reader) only then.
 * Before that call every function answers "not initialised", as the module would. Not at the
 * worker's fork: the token read then would be the spare's, not the connection's (a SoftHSM2 race,
 * bench/RESULTS.md).
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
