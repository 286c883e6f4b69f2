/**
 * A level's card folder when the supervisor is the cloison part: the manager makes it at
 * card.proxy start and before the cage that binds it starts (cage.start's driver, cageCardArgs),
 * owned by the part's uid (its guard listens there: card.proxy's proxy is reached only through
 * it) and entered by the cage's group only (0750): no other level's cage, no other account. The
 * module file beside it is root's. The part cannot put a link in the folder's place: the folder's
 * parent is root's, 0755. A link there (root's own mistake) is still refused, never followed; the
 * ownership is given with lchown.
 */
import { chmodSync, lchownSync, lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { prepareCageCard, type CageCardEndpoint } from '../smartcard/cageCardEndpoint';
import type { CardClient } from '../smartcard/cardClientModule';
import { cardProxyPaths } from '../smartcard/levelCardProxy';

/**
 * The folder and the cage's endpoint. `client`: the cages' card client as made (the manager makes
 * it in the background at its start), or the folder where it is made now (root's; cardClientModule.ts).
 */
export function cageCardFolder(cardDir: string, level: string, partUid: number, cageGid: number, client: string | CardClient, log?: (msg: string, fields?: Record<string, unknown>) => void): CageCardEndpoint {
  const { dir, socketDir } = cageCardSocketFolder(cardDir, level, partUid, cageGid);
  return prepareCageCard(dir, socketDir, client, log);
}

/** The socket folder alone (card.proxy start: the part's guard listens there before any cage binds it). */
export function cageCardSocketFolder(cardDir: string, level: string, partUid: number, cageGid: number): { dir: string; socketDir: string } {
  const dir = join(cardDir, level);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  // Root's folders the proxy's uid and the part pass through, whatever the umask made them.
  for (const d of [cardDir, dir]) {
    if (!lstatSync(d).isDirectory()) throw new Error(`${d} is not a folder`);
    chmodSync(d, 0o755);
  }
  const { socketDir } = cardProxyPaths(dir);
  try {
    mkdirSync(socketDir, { mode: 0o750 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (!lstatSync(socketDir).isDirectory()) throw new Error(`${socketDir} is not a folder: a link in its place is not followed`);
  lchownSync(socketDir, partUid, cageGid);
  chmodSync(socketDir, 0o750);
  return { dir, socketDir };
}
