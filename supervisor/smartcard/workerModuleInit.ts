/**
 * The workers' module initialisation preloaded into each level's pkcs11proxyd
 * (native/workerModuleInit.c): each worker calls the module's C_Initialize at its fork, while it
 * waits for its connection, and answers the application's C_Initialize with that one, instead of
 * initialising the module (SoftHSM2's configuration and object store, a card's reader) while the
 * application waits. Before that call every function answers "not initialised", as the module would.
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
