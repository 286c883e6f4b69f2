/**
 * The card as a cage sees it: the level's proxy socket in a folder bound in, Caml Crush's client
 * module as the cage's PKCS#11 module for p11-kit (so p11-kit-proxy.so, Firefox, p11tool find it),
 * and the environment that module reads. The host's token, reader and pcscd stay out of sight.
 * The client is ours, without Kerberos (cardClientModule.ts), bound read-only; Debian's when ours
 * could not be made.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CARD_ALIAS } from './cardFilterConfig';
import { CLIENT_NAME, DEBIAN_CARD_CLIENT, makeCardClient, type CardClient } from './cardClientModule';
import { CARD_SOCKET_NAME } from './levelCardProxy';

/** Where the level's socket folder appears inside its cage. */
export const CAGE_CARD_DIR = '/run/cloison-card';
/** Caml Crush's client for a Unix socket (Debian's caml-crush-clients): the cages' when ours could not be made. */
export const CARD_CLIENT_MODULE = DEBIAN_CARD_CLIENT;
/** Where our client's folder appears inside a cage, and the module p11-kit loads from it. */
export const CAGE_CARD_CLIENT_DIR = '/run/cloison-card-client';
export const CAGE_CARD_CLIENT_MODULE = `${CAGE_CARD_CLIENT_DIR}/${CLIENT_NAME}`;
const CAGE_MODULE_FILE = '/etc/pkcs11/modules/cloison-card.module';

export interface CageCardEndpoint {
  /** The level's socket folder on the host (LevelCardProxy's). */
  socketDir: string;
  /** The p11-kit module file (root's, read-only in the cage). */
  moduleFile: string;
  /** Our client's folder on the host (cardClientModule.ts), or null: the cage loads Debian's client. */
  clientDir: string | null;
  /** What the cage's bwrap adds for it (cageCardArgs): the cage driver binds it without knowing cards. */
  bwrapArgs: string[];
}

/**
 * Writes the p11-kit module file beside the level's proxy folder, naming our client: `client` as
 * made already (the cage manager's, made in the background), or made (or found made) now in that
 * folder, one no cage may write; Debian's if ours could not be made.
 */
export function prepareCageCard(dir: string, socketDir: string, client: string | CardClient, log?: (msg: string, fields?: Record<string, unknown>) => void): CageCardEndpoint {
  if (typeof client === 'string') client = makeCardClient(client);
  if (!client.ok) log?.("card client without Kerberos not made: the cage loads Debian's client (slower first call)", { reason: client.reason });
  const clientDir = client.ok ? client.dir : null;
  const moduleFile = join(dir, 'cloison-card.module');
  writeFileSync(moduleFile, `# The workstation's smart card, through this level's filtering proxy (Cloison)\nmodule: ${clientDir ? CAGE_CARD_CLIENT_MODULE : CARD_CLIENT_MODULE}\ncritical: no\n`, { mode: 0o444 });
  return { socketDir, moduleFile, clientDir, bwrapArgs: cageCardArgs({ socketDir, moduleFile, clientDir }) };
}

/** bwrap arguments (after --clearenv) that give the cage its card endpoint. */
export function cageCardArgs(endpoint: Pick<CageCardEndpoint, 'socketDir' | 'moduleFile' | 'clientDir'>): string[] {
  return [
    '--ro-bind', endpoint.socketDir, CAGE_CARD_DIR,
    ...(endpoint.clientDir ? ['--ro-bind', endpoint.clientDir, CAGE_CARD_CLIENT_DIR] : []),
    '--perms', '0755', '--dir', '/etc/pkcs11', '--perms', '0755', '--dir', '/etc/pkcs11/modules',
    '--ro-bind', endpoint.moduleFile, CAGE_MODULE_FILE,
    '--setenv', 'PKCS11PROXY_SOCKET_PATH', `${CAGE_CARD_DIR}/${CARD_SOCKET_NAME}`,
    '--setenv', 'PKCS11PROXY_LIBNAME', CARD_ALIAS,
  ];
}
