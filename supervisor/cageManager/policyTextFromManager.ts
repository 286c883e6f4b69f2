/**
 * The `cloison` part's policy: the text the manager runs (`policy.current`), parsed as the part's
 * (#29, one reading). The part never reads the policy file itself — not at its start, not after a
 * crash, not on SIGHUP, not at an administrator's reload — so it cannot run a file the manager
 * refused, never read, or read at another moment. What the part needs for itself is still checked
 * here, as the part (parsePolicy's `part` reading): the recipient keys its diode encrypts to must
 * open for it, or the part refuses the text with their file:line reason.
 */
import type { Policy } from '../../shared/policy';
import { parsePolicy } from '../policy/policyLoader';
import type { ManagerRequester } from './managerLink';
import type { ManagerPolicyText } from './managerPolicyReload';

export async function policyFromManager(manager: ManagerRequester, source: string): Promise<{ policy: Policy; text: string }> {
  const answer = (await manager.request({ op: 'policy.current' })) as Partial<ManagerPolicyText> | null;
  if (typeof answer?.text !== 'string') throw new Error('the cage manager did not give its policy text');
  return { policy: parsePolicy(answer.text, source, 'part'), text: answer.text };
}
