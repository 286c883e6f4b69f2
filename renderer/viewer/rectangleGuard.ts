/**
 * Refuses a rectangle a cage's server may not send, before anything of it is read or decoded: RFB
 * says every rectangle of pixels lies within the framebuffer, and noVNC 1.7 checks none. Its
 * decoders size their work by the rectangle, not by the screen: Tight inflates width × height × 3
 * bytes (its copy, palette and gradient filters alike), and its inflators grow to that and keep
 * it — ~4 MiB sent would hold ~4 GiB in the viewer (tightOversize.attack.test.ts); ZRLE, Hextile,
 * RRE and Raw read and draw the whole rectangle too. The viewer is disconnected at once and the
 * frame says why, as for a refused framebuffer size (framebufferGuard.ts).
 *
 * What is checked, by where noVNC 1.7 hands the rectangle on (its internals, wrapped; pinned in
 * package.json):
 * - every encoding with a decoder goes through _handleDataRect: the rectangle must lie within
 *   the framebuffer noVNC has at that moment (a DesktopSize earlier in the update counted);
 * - a cursor's x and y are its hotspot, not a place on the screen: it has a bound of its own
 *   (its sides; its hotspot within it, as X requires of every cursor);
 * - the other pseudo-encodings (desktop sizes, name, last rectangle, LEDs…) are no pixels:
 *   desktop sizes go through framebufferGuard.ts, the rest carry no sizes noVNC uses.
 */
import type RFB from '@novnc/novnc';

/** No X cursor is larger (a 4× scaled 256-pixel theme's is 1024); a larger one is no cursor. */
export const MAX_CURSOR_SIDE = 2048;

interface Rectangle {
  x: number;
  y: number;
  width: number;
  height: number;
  encoding: number | null;
}
interface RfbInternals {
  _FBU?: Rectangle;
  _fbWidth?: number;
  _fbHeight?: number;
  _handleDataRect?: () => boolean;
  _handleCursor?: () => boolean;
  _handleVMwareCursor?: () => boolean;
}

export function guardRectangles(rfb: RFB, onRefused: (reason: string) => void): void {
  const internals = rfb as unknown as RfbInternals;
  const handleDataRect = internals._handleDataRect?.bind(rfb);
  const handleCursor = internals._handleCursor?.bind(rfb);
  const handleVMwareCursor = internals._handleVMwareCursor?.bind(rfb);
  if (!handleDataRect || !handleCursor || !handleVMwareCursor || typeof internals._FBU !== 'object')
    throw new Error("noVNC's rectangle handlers are not 1.7's: the rectangle guard cannot be installed");

  const refuse = (reason: string): never => {
    onRefused(reason);
    // At once, like framebufferGuard.ts: the throw unwinds noVNC's message loop, nothing after it is decoded.
    rfb.disconnect();
    throw new RectangleRefused(reason);
  };
  const described = (r: Rectangle) => `${r.width}x${r.height} at ${r.x},${r.y} (encoding ${r.encoding})`;

  internals._handleDataRect = () => {
    const r = internals._FBU!;
    const [width, height] = [internals._fbWidth ?? 0, internals._fbHeight ?? 0];
    if (r.x + r.width > width || r.y + r.height > height) refuse(`rectangle ${described(r)} outside the ${width}x${height} framebuffer`);
    return handleDataRect();
  };
  const cursorChecked = (handle: () => boolean) => () => {
    const r = internals._FBU!;
    const empty = r.width === 0 || r.height === 0; // noVNC's hidden cursor
    if (r.width > MAX_CURSOR_SIDE || r.height > MAX_CURSOR_SIDE || (!empty && (r.x >= r.width || r.y >= r.height)))
      refuse(`cursor ${r.width}x${r.height} with its hotspot at ${r.x},${r.y}: no cursor X allows`);
    return handle();
  };
  internals._handleCursor = cursorChecked(handleCursor);
  internals._handleVMwareCursor = cursorChecked(handleVMwareCursor);
}

/** A cage sent a rectangle RFB does not allow: its connection ends here. */
export class RectangleRefused extends Error {
  constructor(reason: string) {
    super(`${reason} refused`);
  }
}
