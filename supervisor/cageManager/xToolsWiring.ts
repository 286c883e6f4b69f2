/**
 * Which X tools the supervisor's clipboard, screens and keyboard layout use: the cage manager's
 * (remoteXTools.ts) when the supervisor is the `cloison` part (`SupervisorOptions.manager` set);
 * null otherwise, and each subsystem keeps running its own X helper sandbox as root did before.
 */
import type { PolicyReader } from '../policy/policyReader';
import type { CageXTools } from '../clipboard/cageXTools';
import { liveRequester, type ManagerLink } from './managerLink';
import { remoteCageXTools } from './remoteXTools';

export function managerXTools(manager: ManagerLink | undefined, fleet: { policy: PolicyReader; isRunning(level: string): boolean }): CageXTools | null {
  if (!manager) return null;
  return remoteCageXTools({ client: liveRequester(manager), policy: () => fleet.policy.current(), isRunning: (level) => fleet.isRunning(level) });
}
