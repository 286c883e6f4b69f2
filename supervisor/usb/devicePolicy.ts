/**
 * Where a device may go, from the policy and the device's mark: a key marked by this workstation
 * for a level is bound to that level, read-write (CLIP OS 4). A rule matching what the device says
 * it is (first match wins) binds it only when the policy trusts device identities; otherwise the
 * rule only pre-selects the dialog's choice among the policy's choices (an identity is the
 * device's own word: a key can clone it). Everything else follows the `unknown` action. The only
 * place that says yes or no to an attachment.
 */
import type { DeviceMatch, DeviceMode, DeviceTarget, UsbPolicy } from '../../shared/policy';

export interface DeviceIdentity {
  vendorId: string;
  productId: string;
  serial: string;
  uuid: string | null;
}

export interface DeviceDecision {
  bound: (DeviceTarget & { rule: string }) | null;
  /** The choice the dialog offers first (a rule's suggestion); never more than the choices allow. */
  preselect: DeviceTarget | null;
  /** What to do on arrival. */
  onArrival: 'ask' | 'ignore' | DeviceTarget;
  /** Where the user may attach it. */
  choices: DeviceTarget[];
}

/** Written in the decision and the journal for a key bound by its mark. */
export const MARK_RULE = 'marked for this level by this workstation';

export function decideDevice(usb: UsbPolicy, identity: DeviceIdentity, markedFor: string | null = null): DeviceDecision {
  if (markedFor !== null) return bind({ level: markedFor, mode: 'read-write' }, MARK_RULE);
  const index = usb.rules.findIndex((r) => matches(r.match, identity));
  const rule = usb.rules[index];
  if (rule && usb.trustDeviceIdentity) return bind({ level: rule.level, mode: rule.mode }, rule.name ?? `usb.rules[${index}]`);
  if (rule) return { bound: null, preselect: nearestChoice(usb.choices, { level: rule.level, mode: rule.mode }), onArrival: 'ask', choices: usb.choices };
  if (usb.unknown === 'ignore') return { bound: null, preselect: null, onArrival: 'ignore', choices: [] };
  if (usb.unknown === 'ask') return { bound: null, preselect: null, onArrival: 'ask', choices: usb.choices };
  // A fixed level for unknown devices stays a choice after an eject, next to the user's choices.
  const fixed = usb.unknown;
  const others = usb.choices.filter((c) => c.level !== fixed.level || c.mode !== fixed.mode);
  return { bound: null, preselect: null, onArrival: fixed, choices: [fixed, ...others] };
}

/** Bound: that level only; a read-write device may still be attached read-only there. */
function bind(target: DeviceTarget, rule: string): DeviceDecision {
  const choices: DeviceTarget[] = target.mode === 'read-write' ? [target, { level: target.level, mode: 'read-only' }] : [target];
  return { bound: { ...target, rule }, preselect: null, onArrival: target, choices };
}

/** A rule's target if the choices allow it, else the same level read-only if they allow that. */
function nearestChoice(choices: DeviceTarget[], wanted: DeviceTarget): DeviceTarget | null {
  const same = (c: DeviceTarget, mode: DeviceTarget['mode']) => c.level === wanted.level && c.mode === mode;
  return choices.find((c) => same(c, wanted.mode)) ?? choices.find((c) => same(c, 'read-only')) ?? null;
}

/** Why attaching there is refused, or null when the policy allows it. */
export function refusalFor(decision: DeviceDecision, level: string, mode: DeviceMode): string | null {
  if (decision.bound && decision.bound.level !== level) return `this device is bound to level "${decision.bound.level}" by ${decision.bound.rule}: it cannot be attached to "${level}"`;
  if (decision.choices.some((c) => c.level === level && c.mode === mode)) return null;
  if (decision.choices.length === 0) return 'the policy ignores this device: it cannot be attached';
  return `the policy does not allow attaching this device to "${level}" ${mode}`;
}

function matches(match: DeviceMatch, id: DeviceIdentity): boolean {
  if (match.vendorId !== undefined && match.vendorId !== id.vendorId) return false;
  if (match.productId !== undefined && match.productId !== id.productId) return false;
  if (match.serial !== undefined && match.serial !== id.serial) return false;
  if (match.uuid !== undefined && match.uuid.toLowerCase() !== (id.uuid ?? '').toLowerCase()) return false;
  return true;
}
