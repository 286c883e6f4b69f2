/**
 * What the `cloison` part may read of a tunnel's reason (tunnelReasonForPart.ts): the band's known
 * reasons whole, and no key however a parser or a tool came to repeat one.
 */
import { describe, expect, it } from 'vitest';
import { tunnelReasonForPart } from './tunnelReasonForPart';

const KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const HEX = 'c8b2a0f1e3d4c5b6a7980112233445566778899aabbccddeeff00112233445566';

describe("a tunnel's reason as the part reads it", () => {
  it('keeps the known reasons as they are', () => {
    for (const reason of [
      'no answer from the gateway: nothing leaves this cage',
      'no handshake for 412 s: nothing leaves this cage',
      'wireguard-go ended (exit 1): this cage has no route at all',
      'wireguard-go ended (SIGKILL): this cage has no route at all',
      '/etc/cloison/wg-high.conf:4: the first DNS server is outside every AllowedIPs: the cage could never reach it: this cage has no route at all',
      'cannot read the WireGuard configuration /etc/cloison/wg-high.conf: ENOENT: this cage has no route at all',
      'ip link add wg-high failed: RTNETLINK answers: Operation not permitted: this cage has no route at all',
    ]) {
      expect(tunnelReasonForPart(reason)).toBe(reason);
    }
  });

  it('takes out a key however it came into the reason', () => {
    for (const reason of [
      `/etc/cloison/wg-high.conf:2: "${KEY.slice(0, -1)}" is not supported here (Cloison sets the interface up itself): this cage has no route at all`,
      `wg setconf wg-high failed: Key is not the correct length or format: \`${KEY}\`: this cage has no route at all`,
      `wireguard-go did not start: private_key=${HEX}: this cage has no route at all`,
      `something new: ${HEX}`,
      `something new: ${KEY}`,
    ]) {
      const shown = tunnelReasonForPart(reason);
      for (const part of [KEY.slice(0, 12), KEY.slice(20, 32), HEX.slice(0, 12), HEX.slice(-12)]) expect(shown).not.toContain(part);
    }
    expect(tunnelReasonForPart(`wireguard-go did not start: private_key=${HEX}: this cage has no route at all`)).toBe("wireguard-go did not start (the manager's log says why): this cage has no route at all");
  });
});
