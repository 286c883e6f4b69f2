import { describe, expect, it } from 'vitest';
import type RFB from '@novnc/novnc';
import { FramebufferRefused, guardFramebufferSize } from './framebufferGuard';

function fakeRfb() {
  const calls: string[] = [];
  const rfb = { _resize: (w: number, h: number) => calls.push(`resize ${w}x${h}`), disconnect: () => calls.push('disconnect') };
  return { rfb: rfb as unknown as RFB & { _resize(w: number, h: number): void }, calls };
}

describe('framebuffer guard', () => {
  it('lets a size a policy allows through', () => {
    const { rfb, calls } = fakeRfb();
    guardFramebufferSize(rfb, () => calls.push('refused'));
    rfb._resize(1920, 1080);
    expect(calls).toEqual(['resize 1920x1080']);
  });

  it('refuses an enormous or empty size and ends the connection at once, before anything after it is decoded', () => {
    for (const [w, h] of [[65535, 65535], [16384, 16384], [8192, 8192], [0, 600], [8193, 1]]) {
      const { rfb, calls } = fakeRfb();
      guardFramebufferSize(rfb, () => calls.push('refused'));
      expect(() => rfb._resize(w!, h!)).toThrow(FramebufferRefused);
      // Disconnected synchronously: no deferred disconnect behind which the rest of the read is decoded.
      expect(calls).toEqual(['refused', 'disconnect']);
    }
  });
});
