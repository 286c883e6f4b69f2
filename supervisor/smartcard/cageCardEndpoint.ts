/**
 * The card as a cage sees it: the level's proxy socket in a folder bound in, Caml Crush's client
 * module as the cage's PKCS#11 module for p11-kit (so p11-kit-proxy.so, Firefox, p11tool find it),
 * and the environment that module reads. The host's token, reader and pcscd stay out of sight.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CARD_ALIAS } from './cardFilterConfig';
import { CARD_SOCKET_NAME } from './levelCardProxy';

/** Where the level's socket folder appears inside its cage. */
export const CAGE_CARD_DIR = '/run/cloison-card';
/** Caml Crush's client for a Unix socket (Debian's caml-crush-clients). */
export const CARD_CLIENT_MODULE = '/usr/lib/x86_64-linux-gnu/caml-crush/libp11clientunix.so';
const CAGE_MODULE_FILE = '/etc/pkcs11/modules/cloison-card.module';

export interface CageCardEndpoint {
  /** The level's socket folder on the host (LevelCardProxy's). */
  socketDir: string;
  /** The p11-kit module file (root's, read-only in the cage). */
  moduleFile: string;
  /** What the cage's bwrap adds for it (cageCardArgs): the cage driver binds it without knowing cards. */
  bwrapArgs: string[];
}

/** Writes the p11-kit module file beside the level's proxy folder. */
export function prepareCageCard(dir: string, socketDir: string): CageCardEndpoint {
  const moduleFile = join(dir, 'cloison-card.module');
  writeFileSync(moduleFile, `# The workstation's smart card, through this level's filtering proxy (Cloison)\nmodule: ${CARD_CLIENT_MODULE}\ncritical: no\n`, { mode: 0o444 });
  return { socketDir, moduleFile, bwrapArgs: cageCardArgs({ socketDir, moduleFile }) };
}

/** bwrap arguments (after --clearenv) that give the cage its card endpoint. */
export function cageCardArgs(endpoint: Pick<CageCardEndpoint, 'socketDir' | 'moduleFile'>): string[] {
  return [
    '--ro-bind', endpoint.socketDir, CAGE_CARD_DIR,
    '--perms', '0755', '--dir', '/etc/pkcs11', '--perms', '0755', '--dir', '/etc/pkcs11/modules',
    '--ro-bind', endpoint.moduleFile, CAGE_MODULE_FILE,
    '--setenv', 'PKCS11PROXY_SOCKET_PATH', `${CAGE_CARD_DIR}/${CARD_SOCKET_NAME}`,
    '--setenv', 'PKCS11PROXY_LIBNAME', CARD_ALIAS,
  ];
}
