/**
 * The card endpoints the cage manager gives its cages (the split supervisor: the part guards the
 * cage's side). The cages' card client (cardClientModule.ts) is made in the background from the
 * manager's start, when the policy gives any level a card: made the first time after an upgrade
 * of its sources or a build of its stub, ten patchelf runs (1.6–2.6 s under load) that were on
 * the first cage start's path and held the manager's event loop. A cage start awaits it only while
 * it is being made, and only just before its bwrap starts (bwrapDriver.ts), after its own mounts.
 */
import { join } from 'node:path';
import { cageUid, type Policy } from '../../shared/policy';
import type { CageCardEndpoint } from '../smartcard/cageCardEndpoint';
import { makeCardClientInBackground, type CardClient } from '../smartcard/cardClientModule';
import { cageCardFolder, cageCardSocketFolder } from './cageCardFolder';

export interface ManagerCardEndpointsOptions {
  policy: () => Policy;
  /** The cloison part's uid (its guard listens in the socket folder); undefined: no card folders. */
  partUid: number | undefined;
  runDir: string;
  stateDir: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** The making itself (tests count and hold it). */
  make?: (parent: string) => Promise<CardClient>;
}

export interface ManagerCardEndpoints {
  /** The level's socket folder, for its card proxy's start (null: the policy gives it no card). */
  socketFolder(level: string): void;
  /** The level's endpoint for its cage's start, once the client is made (null: no card). */
  endpoint(level: string): Promise<CageCardEndpoint | null>;
}

export function managerCardEndpoints(o: ManagerCardEndpointsOptions): ManagerCardEndpoints {
  const parent = join(o.stateDir, 'card-client');
  const cardDir = `${o.runDir}-card`;
  let making: Promise<void> | null = null;
  const made = (): Promise<void> =>
    (making ??= (o.make ?? makeCardClientInBackground)(parent).then(
      (client) => void (client.ok ? undefined : o.log?.("card client without Kerberos not made in the background: the cage start tries again", { reason: client.reason })),
      () => undefined,
    ));
  // At the manager's start, before any cage needs it (a policy given a card later: at its first use).
  if (o.partUid !== undefined && o.policy().smartcard) void made();
  /** The level's cage gid, if the policy gives it a card and a bwrap cage. */
  const cardLevel = (level: string): { partUid: number; cageGid: number } | null => {
    const policy = o.policy();
    const index = policy.levels.findIndex((l) => l.id === level);
    const cage = policy.levels[index]?.cage;
    if (o.partUid === undefined || !policy.smartcard?.levels[level] || cage?.driver !== 'bwrap') return null;
    return { partUid: o.partUid, cageGid: cageUid(cage, index) };
  };
  const failed = (level: string, err: unknown) => {
    o.log?.('card folder not made: the cage starts without the card', { level, error: (err as Error).message });
    return null;
  };
  return {
    socketFolder(level) {
      const found = cardLevel(level);
      if (!found) return;
      try {
        cageCardSocketFolder(cardDir, level, found.partUid, found.cageGid);
      } catch (err) {
        failed(level, err);
      }
    },
    async endpoint(level) {
      if (!cardLevel(level)) return null;
      await made();
      // Checked again now (the policy may have changed meanwhile); the client found made (a few
      // stats), or made now if its sources changed since (an upgrade while the manager runs).
      const found = cardLevel(level);
      if (!found) return null;
      try {
        return cageCardFolder(cardDir, level, found.partUid, found.cageGid, parent, o.log);
      } catch (err) {
        return failed(level, err);
      }
    },
  };
}
