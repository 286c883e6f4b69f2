/**
 * The cages' statuses as the supervisor sends them, from the session's description on (issue #26).
 *
 * The page asks for the description with three other calls and fills the store once all four have
 * answered. A status sent meanwhile was lost: the store, holding no levels yet, ignored it, then
 * took the description's older status. A cage that turned running in that moment stayed
 * "starting" in the shell, and its viewer never asked its ticket (seen once in 60 loaded starts: low
 * running 1 s before high, high's viewer connected, low's never in 180 s). Those statuses are kept
 * from the description's answer on and applied over it, in the order they came; one sent before
 * that answer is in the description already.
 */
import type { CageState } from '../../shared/rpc';
import type { ShellApi } from '../transport/shellApi';

export interface CageStatusFollow {
  /** The description's answer has come: statuses from now on are newer than it. */
  described(): void;
  /** The store holds the description: the statuses kept since are applied, then each as it comes. */
  initialised(): void;
}

export function followCageStatuses(api: Pick<ShellApi, 'on'>, setCage: (state: CageState) => void): CageStatusFollow {
  let described = false;
  let initialised = false;
  const since: CageState[] = [];
  api.on('onCageStatus', (state) => {
    if (initialised) setCage(state);
    else if (described) since.push(state);
  });
  return {
    described: () => {
      described = true;
    },
    initialised: () => {
      initialised = true;
      for (const state of since.splice(0)) setCage(state);
    },
  };
}
