/**
 * Refuses a rectangle in an encoding the viewer never asked its cage's server for (encodingChoice.ts
 * records what it asked): noVNC 1.7 decodes whatever encoding it has a decoder for. The ones the
 * viewer leaves out go to the browser's decoders (a Tight JPEG rectangle, TightPNG, JPEG, H.264),
 * and noVNC's render queue holds everything after them until the browser is done — forever, for
 * an image that never loads (renderQueueFlood.attack.test.ts). The viewer is disconnected at once
 * and the frame says why, as for a rectangle off the screen (rectangleGuard.ts).
 *
 * Checked where noVNC 1.7 hands a rectangle on (its internals, wrapped; pinned in package.json):
 * - _handleDataRect, which every encoding with a decoder goes through: the encoding was asked for;
 * - the Tight decoders' JPEG sub-encoding: only after a JPEG quality level was asked for (RFB's
 *   Tight). Tight's PNG sub-encoding is TightPNG's only: noVNC's Tight decoder refuses it itself.
 */
import type RFB from '@novnc/novnc';
import type { AskedEncodings } from './encodingChoice';
import { RectangleRefused } from './rectangleGuard';

const TIGHT = 7;
const TIGHT_PNG = -260;

interface TightJpeg {
  _jpegRect: (...args: unknown[]) => boolean;
}
interface RfbInternals {
  _FBU?: { encoding: number | null };
  _handleDataRect?: () => boolean;
  _decoders?: Record<number, TightJpeg | undefined>;
}

export function refuseUnaskedEncodings(rfb: RFB, asked: AskedEncodings, onRefused: (reason: string) => void): void {
  const internals = rfb as unknown as RfbInternals;
  const handleDataRect = internals._handleDataRect?.bind(rfb);
  const tights = [internals._decoders?.[TIGHT], internals._decoders?.[TIGHT_PNG]];
  if (!handleDataRect || typeof internals._FBU !== 'object' || tights.some((d) => typeof d?._jpegRect !== 'function'))
    throw new Error("noVNC's decoders are not 1.7's: the encoding guard cannot be installed");

  const refuse = (reason: string): never => {
    onRefused(reason);
    // At once, like rectangleGuard.ts: the throw unwinds noVNC's message loop, nothing after it is decoded.
    rfb.disconnect();
    throw new RectangleRefused(reason);
  };

  internals._handleDataRect = () => {
    const encoding = internals._FBU!.encoding;
    if (encoding === null || !asked.has(encoding)) refuse(`rectangle in encoding ${encoding} (never asked for)`);
    return handleDataRect();
  };
  for (const tight of tights as TightJpeg[]) {
    const jpegRect = tight._jpegRect.bind(tight);
    tight._jpegRect = (...args) => {
      if (!asked.tightJpeg) refuse('Tight JPEG rectangle (no JPEG quality level asked for)');
      return jpegRect(...args);
    };
  }
}
