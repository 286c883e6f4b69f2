/**
 * The manager's side of `cage.wait`: how the unprivileged part learns that a level's cage ended,
 * on a protocol where only it asks. The request stays unanswered while the cage runs and is
 * answered with its exit (the driver's own words: killed, its memory limit reached, Xvnc gone) once
 * it ends, however it ends. A cage that ended before the request came is answered at once with that
 * exit, until the level's next start (managedCages.ts keeps it): the part never misses an end
 * between two requests. No cage ever started for the level: refused, nothing to wait for.
 *
 * Why a pending request rather than a message from the manager: the socket stays request/reply
 * (the server and client match answers by id, nothing else changes), a waiting request holds one
 * of its connection's in-flight places (cageManagerServer.ts bounds them), and what the part gets
 * is the one fact it needs, written by the manager.
 */
import { CloisonError } from '../../shared/errors';
import type { ManagedCages } from './managedCages';
import type { RequestOf } from './requests';

export function cageWaitExecutor(options: { cages: ManagedCages }): (req: RequestOf<'cage.wait'>) => Promise<{ reason: string }> {
  return async (req) => {
    const cage = options.cages.cage(req.level);
    if (cage) return { reason: (await cage.exited).reason };
    const last = options.cages.lastExit(req.level);
    if (last) return { reason: last.reason };
    throw new CloisonError('CAGE_UNAVAILABLE', `cage ${req.level} is ${options.cages.state(req.level)}: nothing to wait for`);
  };
}
