/**
 * Counts the pixels noVNC draws, whatever the encoding that carried them (a few bytes of a fill or
 * a compressed rectangle can cost as much drawing as megabytes of Raw): every drawing call of its
 * display marks its rectangle damaged, and that is where they are counted.
 *
 * noVNC 1.7 has no public hook for this: we wrap its display's internal _damage, as
 * framebufferGuard.ts wraps _resize. Pinned to 1.7 in package.json.
 */
import type RFB from '@novnc/novnc';

export function countDrawnPixels(rfb: RFB, onDrawn: (pixels: number, screen: { width: number; height: number }) => void): void {
  const display = (rfb as unknown as { _display?: { _damage?: (x: number, y: number, w: number, h: number) => void; width: number; height: number } })._display;
  const original = display?._damage?.bind(display);
  if (!display || !original) throw new Error('noVNC without _display._damage: drawn pixels cannot be counted');
  display._damage = (x: number, y: number, w: number, h: number) => {
    onDrawn(Math.max(0, w) * Math.max(0, h), display);
    original(x, y, w, h);
  };
}
