/**
 * Where a device may go, from the policy alone: a rule binds it to one level and mode (first
 * matching rule wins); otherwise the `unknown` action applies and the user may choose among the
 * policy's choices. The only place that says yes or no to an attachment.
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
  /** What to do on arrival. */
  onArrival: 'ask' | 'ignore' | DeviceTarget;
  /** Where the user may attach it. */
  choices: DeviceTarget[];
}

export function decideDevice(usb: UsbPolicy, identity: DeviceIdentity): DeviceDecision {
  const index = usb.rules.findIndex((r) => matches(r.match, identity));
  const rule = usb.rules[index];
  if (rule) {
    const target = { level: rule.level, mode: rule.mode };
    // A bound read-write device may still be attached read-only, never anywhere else.
    const choices: DeviceTarget[] = rule.mode === 'read-write' ? [target, { level: rule.level, mode: 'read-only' }] : [target];
    return { bound: { ...target, rule: rule.name ?? `usb.rules[${index}]` }, onArrival: target, choices };
  }
  if (usb.unknown === 'ignore') return { bound: null, onArrival: 'ignore', choices: [] };
  if (usb.unknown === 'ask') return { bound: null, onArrival: 'ask', choices: usb.choices };
  // A fixed level for unknown devices stays a choice after an eject, next to the user's choices.
  const fixed = usb.unknown;
  const others = usb.choices.filter((c) => c.level !== fixed.level || c.mode !== fixed.mode);
  return { bound: null, onArrival: fixed, choices: [fixed, ...others] };
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
