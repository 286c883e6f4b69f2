// Builds the card proxy's native libraries into out/supervisor, where levelCardProxy.ts looks for
// them: the OpenSSL pre-initialisation (supervisor/smartcard/native/opensslPreinit.c, gcc and
// libssl-dev), the workers' page-table fill and module initialisation (workerPrefault.c,
// workerModuleInit.c, gcc alone); and the GSS-API stub
// of the cages' card client (gssStub.c, gcc alone; cardClientModule.ts). scripts/setup.sh
// installs both; without them the build goes on and says so: the proxy then starts without them,
// and the cages load Debian's client, as before they existed.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

export const OPENSSL_PREINIT_SOURCE = 'supervisor/smartcard/native/opensslPreinit.c';
export const OPENSSL_PREINIT_OUTPUT = 'out/supervisor/opensslPreinit.so';
export const WORKER_PREFAULT_SOURCE = 'supervisor/smartcard/native/workerPrefault.c';
export const WORKER_PREFAULT_OUTPUT = 'out/supervisor/workerPrefault.so';
export const WORKER_MODULE_INIT_SOURCE = 'supervisor/smartcard/native/workerModuleInit.c';
export const WORKER_MODULE_INIT_OUTPUT = 'out/supervisor/workerModuleInit.so';
export const GSS_STUB_SOURCE = 'supervisor/smartcard/native/gssStub.c';
export const GSS_STUB_OUTPUT = 'out/supervisor/cardGssStub.so';
/** The workers' page-table fill and module initialisation need libc alone. */
const LIBC_ALONE = [WORKER_PREFAULT_SOURCE, WORKER_MODULE_INIT_SOURCE];
/** Its version node (gssapi_krb5_2_MIT) and its name, the one its libtirpc copy links (cardClientModule.ts). */
const GSS_STUB_LINK = ['-Wl,--version-script=supervisor/smartcard/native/gssStub.map', '-Wl,-soname,libcloison-gss.so.2'];
/** The manager's name service look-up (system/accounts.ts): a program, not a library, and not optional. */
export const NAME_SERVICE_IDS_SOURCE = 'supervisor/system/native/nameServiceIds.c';
export const NAME_SERVICE_IDS_OUTPUT = 'out/supervisor/nameServiceIds';
export const CARD_RECORD_RELAY_SOURCE = 'supervisor/smartcard/native/cardRecordRelay.c';
export const CARD_RECORD_RELAY_OUTPUT = 'out/supervisor/cardRecordRelay';

/**
 * Compiles `source` into the shared library `output` (0755): null when done, else why not. Linked
 * with libcrypto unless the source is the GSS-API stub or one of LIBC_ALONE.
 */
export function buildOpensslPreinit(source = OPENSSL_PREINIT_SOURCE, output = OPENSSL_PREINIT_OUTPUT, defines = []) {
  mkdirSync(dirname(output), { recursive: true });
  // Warnings are errors; the usual hardening (stack protector, fortified libc calls, read-only
  // relocations bound at load).
  const flags = ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', '-fstack-protector-strong', '-D_FORTIFY_SOURCE=2', '-Wl,-z,relro,-z,now', '-Wl,--as-needed'];
  const libraries = source === GSS_STUB_SOURCE ? GSS_STUB_LINK : LIBC_ALONE.includes(source) ? [] : ['-lcrypto'];
  const built = spawnSync('gcc', [...flags, ...defines.map((d) => `-D${d}`), '-o', output, source, ...libraries], { encoding: 'utf8' });
  if (built.error) return `gcc: ${built.error.message}`;
  if (built.status !== 0) return built.stderr.trim() || `gcc exited with ${built.status}`;
  // Whatever the umask: the card proxy loads it only if no one but root may write it.
  chmodSync(output, 0o755);
  return null;
}

/** Compiles the program `source` into `output` (0755): null when done, else why not. */
export function buildNativeProgram(source = NAME_SERVICE_IDS_SOURCE, output = NAME_SERVICE_IDS_OUTPUT) {
  mkdirSync(dirname(output), { recursive: true });
  const flags = ['-O2', '-Wall', '-Wextra', '-Werror', '-fstack-protector-strong', '-D_FORTIFY_SOURCE=2', '-fPIE', '-pie', '-Wl,-z,relro,-z,now', '-Wl,--as-needed'];
  const built = spawnSync('gcc', [...flags, '-o', output, source], { encoding: 'utf8' });
  if (built.error) return `gcc: ${built.error.message}`;
  if (built.status !== 0) return built.stderr.trim() || `gcc exited with ${built.status}`;
  chmodSync(output, 0o755);
  return null;
}

// Run on its own (the card tests build their libraries with it): node scripts/buildOpensslPreinit.mjs
// [source output [NAME=value...]]; a failure is its exit status and message.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [source, output, ...defines] = process.argv.slice(2);
  const failure = buildOpensslPreinit(source, output, defines);
  if (failure) {
    console.error(failure);
    process.exit(1);
  }
}
