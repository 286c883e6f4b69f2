/** The levels as a shell draws them (band, frames, colours), from the running policy. */
import type { Policy } from '../../shared/policy';
import type { LevelView } from '../../shared/rpc';

export function levelViews(policy: Pick<Policy, 'levels'>): LevelView[] {
  return policy.levels.map(({ id, rank, label, colour, textColour, cage }) => ({ id, rank, label, colour, textColour, hostNetwork: cage.driver === 'bwrap' && cage.network === 'host' }));
}
