import { describe, expect, it } from 'vitest';
import { loadDefaultPolicy, parsePolicy, PolicyError } from '../policy/policyLoader';
import { twoLevelPolicy, bwrapCage } from '../testing/testPolicy';
import { decideDevice, refusalFor } from './devicePolicy';

const usbPolicy = (usb: string) => parsePolicy(twoLevelPolicy({ low: bwrapCage(), high: bwrapCage({ uid: 58655 }) }, usb), 'p.yaml').usb;
const KEY = { vendorId: '0781', productId: '5581', serial: 'AA01', uuid: 'u-1' };

describe('USB device policy', () => {
  it('by default asks, offering the lowest level read-write and higher levels read-only (CLIP OS 4)', () => {
    const d = decideDevice(loadDefaultPolicy().usb, KEY);
    expect(d).toEqual({ bound: null, preselect: null, onArrival: 'ask', choices: [{ level: 'low', mode: 'read-write' }, { level: 'high', mode: 'read-only' }] });
    expect(refusalFor(d, 'low', 'read-write')).toBeNull();
    expect(refusalFor(d, 'high', 'read-write')).toMatch(/does not allow attaching this device to "high" read-write/);
  });

  it('by default a rule only suggests: the dialog asks, pre-selecting the nearest choice the policy allows', () => {
    const usb = usbPolicy('usb:\n  rules:\n    - { name: team key, match: { vendorId: "0781", serial: AA01 }, level: high, mode: read-write }\n');
    const d = decideDevice(usb, KEY);
    expect(d).toMatchObject({ bound: null, onArrival: 'ask', preselect: { level: 'high', mode: 'read-only' } });
    expect(refusalFor(d, 'high', 'read-write')).toMatch(/does not allow attaching this device to "high" read-write/);
    // Even with unknown devices ignored, a device the administrator named is offered.
    expect(decideDevice(usbPolicy('usb:\n  unknown: ignore\n  rules:\n    - { match: { serial: AA01 }, level: low, mode: read-write }\n'), KEY)).toMatchObject({ onArrival: 'ask', preselect: { level: 'low', mode: 'read-write' } });
  });

  it('a key marked for a level by this workstation is bound there, read-write, whatever the rules', () => {
    const usb = usbPolicy('usb:\n  rules:\n    - { match: { serial: AA01 }, level: low, mode: read-write }\n');
    const d = decideDevice(usb, KEY, 'high');
    expect(d).toMatchObject({ bound: { level: 'high', mode: 'read-write' }, onArrival: { level: 'high', mode: 'read-write' } });
    expect(refusalFor(d, 'low', 'read-write')).toMatch(/bound to level "high"/);
    expect(refusalFor(d, 'high', 'read-only')).toBeNull();
  });

  it('with trustDeviceIdentity, binds a device matched by a rule (all given fields must match) to its level only', () => {
    const usb = usbPolicy('usb:\n  trustDeviceIdentity: true\n  rules:\n    - { name: team key, match: { vendorId: "0781", serial: AA01 }, level: high, mode: read-write }\n');
    const d = decideDevice(usb, KEY);
    expect(d.bound).toEqual({ level: 'high', mode: 'read-write', rule: 'team key' });
    expect(d.onArrival).toEqual({ level: 'high', mode: 'read-write' });
    expect(refusalFor(d, 'high', 'read-only')).toBeNull();
    expect(refusalFor(d, 'low', 'read-write')).toMatch(/bound to level "high" by team key/);
    expect(decideDevice(usb, { ...KEY, serial: 'AA02' }).bound).toBeNull();
  });

  it('applies the unknown-device action: ignore, or a fixed level', () => {
    expect(decideDevice(usbPolicy('usb: { unknown: ignore }\n'), KEY)).toMatchObject({ onArrival: 'ignore', choices: [] });
    const fixed = decideDevice(usbPolicy('usb: { unknown: { level: high, mode: read-write } }\n'), KEY);
    expect(fixed.onArrival).toEqual({ level: 'high', mode: 'read-write' });
    // After an eject the user may put it back where the policy sent it, or choose as usual.
    expect(fixed.choices).toEqual([{ level: 'high', mode: 'read-write' }, { level: 'low', mode: 'read-write' }, { level: 'high', mode: 'read-only' }]);
  });

  it('refuses malformed USB policy with the line and what is wrong', () => {
    const problems = (usb: string) => {
      try {
        usbPolicy(usb);
      } catch (err) {
        expect(err).toBeInstanceOf(PolicyError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(problems('usb:\n  rules:\n    - { match: {}, level: high, mode: read-only }\n')).toMatch(/p\.yaml:\d+.*at least one of vendorId, productId, serial, uuid/);
    expect(problems('usb:\n  rules:\n    - { match: { uuid: x }, level: secret, mode: read-only }\n')).toMatch(/no level "secret"/);
    expect(problems('usb:\n  choices: [{ level: low, mode: rw }]\n')).toMatch(/p\.yaml:\d+/);
    expect(problems('usb:\n  rules:\n    - { match: { vendorId: "781" }, level: low, mode: read-only }\n')).toMatch(/vendorId is the USB vendor id, 4 hex digits/);
  });
});
