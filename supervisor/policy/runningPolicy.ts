/**
 * The running policy, in one place: every broker reads `current()` (never a copy taken at start),
 * and whatever must act on a change — the device watcher's loop devices, the cages' sound — hears
 * it through `onChange`. A reload reads the file through the one loader (its size limit, its
 * file:line errors) and replaces the policy whole or not at all. The cloison part reads no file: its
 * source is the cage manager's text (cageManager/policyTextFromManager.ts, #29's one reading).
 */
import { EventEmitter } from 'node:events';
import type { Policy } from '../../shared/policy';
import { DEFAULT_POLICY_NAME, DEFAULT_POLICY_YAML } from './defaultPolicy';
import { loadDefaultPolicy, readPolicyFileAsync } from './policyLoader';

/** Where a reload's policy comes from, when not the file: the cloison part asks the cage manager. */
export type PolicySourceReader = () => Promise<{ policy: Policy; text: string }>;

export class RunningPolicy {
  private readonly events = new EventEmitter<{ change: [Policy, Policy] }>();

  constructor(
    private policy: Policy,
    private policyText: string,
    readonly source: string,
    /** `whole`: the file, read by root (the root supervisor); the cloison part's: the manager's text, read as `part`. */
    private readonly reading: 'whole' | PolicySourceReader = 'whole',
  ) {}

  current(): Policy {
    return this.policy;
  }

  get text(): string {
    return this.policyText;
  }

  /** Called after each applied reload with the new policy and the one it replaced. */
  onChange(listener: (next: Policy, previous: Policy) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  replace(next: Policy, text: string): void {
    const previous = this.policy;
    this.policy = next;
    this.policyText = text;
    this.events.emit('change', next, previous);
  }

  /** The policy as the source says now (throws the loader's PolicyError, file:line, on a bad one). */
  readSource(): { policy: Policy; text: string } | Promise<{ policy: Policy; text: string }> {
    if (this.reading !== 'whole') return this.reading();
    if (this.source === DEFAULT_POLICY_NAME) return { policy: loadDefaultPolicy(), text: DEFAULT_POLICY_YAML };
    return readPolicyFileAsync(this.source);
  }
}

/** Where loop devices count as removable keys under a policy (training keys when training is allowed). */
export function loopBackingDirOf(policy: Policy, trainingKeysDir: string): string | undefined {
  return policy.usb.loopDevices?.backingDir ?? (policy.training === 'allowed' ? trainingKeysDir : undefined);
}

/** A level's cage sound as its driver is built from it: a change restarts that cage, as a cage change does. */
export function cageSoundOf(policy: Pick<Policy, 'audio'>, level: string): { micAllowed: boolean } | null {
  return policy.audio.enabled ? { micAllowed: policy.audio.microphone.includes(level) } : null;
}
