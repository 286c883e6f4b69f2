/**
 * The cage manager's code past its restriction (managerEntry.ts), bundled apart as CommonJS
 * (out/supervisor/cageManagerMain.cjs) so that it loads from the V8 code cache the build writes
 * beside it (codeCache/): #29, the manager's start comes before its cages' start, the split's
 * critical path.
 */
import { DEFAULT_POLICY_NAME, DEFAULT_POLICY_YAML } from '../policy/defaultPolicy';
import { parsePolicy } from '../policy/policyLoader';

export { runCageManager } from './managerMain';

/** Run by the cache's writer only: the manager's first work after its modules, its policy's parse, compiled into the cache too. */
export function warmCodeCache(): void {
  parsePolicy(DEFAULT_POLICY_YAML, DEFAULT_POLICY_NAME, 'whole');
}
