/**
 * Each running cage's first ticket, asked for the moment the supervisor has described the session,
 * before the shell's window is drawn: with the viewer frames made early (earlyViewerFrames.ts) a
 * frame is often ready when its level's viewer mounts, and the ticket's round trip would then come
 * after the drawing instead of beside it. Each is for one level's first frame only (the viewer's
 * first generation, the cage's restarts as described): the viewer takes it once, as it takes the
 * ticket it asks for ahead (CageViewer.tsx: one older than half its life is dropped, a new one
 * asked). One never taken (the page locked, the cage restarted) is never handed over; it expires in
 * the supervisor.
 */
import type { CageState } from '../../shared/rpc';
import type { ShellApi } from '../transport/shellApi';

export interface AskedTicket {
  ticket: string;
  path: string;
  expiresInMs: number;
  /** When it came (Date.now()). */
  at: number;
}

export interface FirstTickets {
  /** The level's first ticket, once, if asked for the cage as it is now (`restarts`); else null. */
  take(level: string, restarts: number): Promise<AskedTicket> | null;
}

export const NO_FIRST_TICKETS: FirstTickets = { take: () => null };

export function askFirstTickets(api: Pick<ShellApi, 'call'>, cages: CageState[], now: () => number = Date.now): FirstTickets {
  const asked = new Map<string, { restarts: number; ticket: Promise<AskedTicket> }>();
  for (const cage of cages) {
    if (cage.status !== 'running') continue;
    const ticket = api.call('vnc.ticket', { level: cage.level }).then((t) => ({ ...t, at: now() }));
    ticket.catch(() => undefined); // taken only by its viewer, which asks again on a failure
    asked.set(cage.level, { restarts: cage.restarts, ticket });
  }
  return {
    take(level, restarts) {
      const mine = asked.get(level);
      asked.delete(level);
      return mine && mine.restarts === restarts ? mine.ticket : null;
    },
  };
}
