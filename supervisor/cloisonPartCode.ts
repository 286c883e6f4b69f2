/**
 * The `cloison` part's code past its restriction (cloisonPartEntry.ts), bundled apart as CommonJS
 * (out/supervisor/cloisonPartMain.cjs) so that it loads from the V8 code cache the build writes
 * beside it (codeCache/): #29, the part's start is on the split's critical path.
 */
import { DEFAULT_POLICY_NAME, DEFAULT_POLICY_YAML } from './policy/defaultPolicy';
import { parsePolicy } from './policy/policyLoader';

export { runCloisonPart } from './cloisonPartMain';

/** Run by the cache's writer only: the part's first work after its modules, its policy's parse, compiled into the cache too. */
export function warmCodeCache(): void {
  parsePolicy(DEFAULT_POLICY_YAML, DEFAULT_POLICY_NAME, 'part');
}
