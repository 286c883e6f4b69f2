import { parsePolicy } from '../policy/policyLoader';

/** What the policy's reading says when it refuses `text` (read as policy.yaml), null when it takes it. */
export function policyRefusal(text: string): string | null {
  try {
    parsePolicy(text, 'policy.yaml');
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
