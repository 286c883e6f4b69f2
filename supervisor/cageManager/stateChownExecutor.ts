/**
 * The manager's side of `state.chown`: a folder or file of a level's state or run folder given to
 * that level's uid, or back to root (the authorization checked both). Done on the descriptor of
 * the path opened without following a link (openedExactly.ts): a link a cage swaps in after the
 * check, in its own home, leads the chown nowhere but a refusal.
 */
import { closeSync, fchownSync } from 'node:fs';
import { openedExactly } from './openedExactly';
import type { RequestOf } from './requests';

export function stateChownExecutor(): (req: RequestOf<'state.chown'>) => Promise<{ uid: number }> {
  return async (req) => {
    const { fd } = openedExactly(req.path);
    try {
      // A cage's files are its uid's and the group of the same number, as cageMounts.ts makes them.
      fchownSync(fd, req.uid, req.uid);
      return { uid: req.uid };
    } finally {
      closeSync(fd);
    }
  };
}
