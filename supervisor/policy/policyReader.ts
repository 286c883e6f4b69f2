/**
 * How every broker reads the policy: `current()` at the moment it decides, never a copy taken at
 * start, so a reload reaches it at once. The running-policy store (runningPolicy.ts) is one; a
 * broker names the sections it reads, and a test may hand it just those.
 */
import type { Policy } from '../../shared/policy';

export interface PolicyReader<K extends keyof Policy = keyof Policy> {
  current(): Pick<Policy, K>;
}
