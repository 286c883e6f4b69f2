/**
 * What the viewer asks its cage's server for: noVNC's encodings, less the JPEG quality level. A
 * TigerVNC server given a quality level sends every rectangle of more than 96 colours as JPEG, which
 * noVNC can only hand the browser as a base64 data: URL (an image load and a decode on the viewer's
 * main thread each); without it those rectangles come as zlib-compressed pixels (palettes of up to
 * 256 colours, or full colour), decoded straight into the viewer's memory framebuffer
 * (tightInMemory.ts). Measured on a scrolling page: fewer bytes per frame and less CPU on the whole
 * path, the server's more costly compression counted (bench/RESULTS.md, Firefox scroll). TigerVNC's
 * own vncviewer does ask for JPEG (quality 8 above 16 Mbit/s, CConn::autoSelectFormatAndEncoding),
 * which it decodes natively: matching it through noVNC's image path cost this viewer twice as much.
 *
 * noVNC 1.7 has no option to leave the quality level out: its list is filtered as it is sent, the
 * way framebufferGuard.ts and drawnPixels.ts wrap its internals. Pinned to 1.7 in package.json.
 */
import type RFB from '@novnc/novnc';

/** RFB's pseudo-encodings for JPEG quality levels 0 to 9. */
const QUALITY_LEVEL_0 = -32;
const QUALITY_LEVEL_9 = -23;

export function isJpegQualityLevel(encoding: number): boolean {
  return encoding >= QUALITY_LEVEL_0 && encoding <= QUALITY_LEVEL_9;
}

/** The encodings a viewer asks for: noVNC's own, in its order, without a JPEG quality level. */
export function losslessEncodings(encodings: readonly number[]): number[] {
  return encodings.filter((encoding) => !isJpegQualityLevel(encoding));
}

interface ClientEncodingsSender {
  clientEncodings(sock: unknown, encodings: number[]): void;
}

export function askForLosslessEncodings(rfb: RFB): void {
  const internals = rfb as unknown as { _sendEncodings?: () => void };
  const messages = (rfb.constructor as unknown as { messages?: ClientEncodingsSender }).messages;
  const sendEncodings = internals._sendEncodings?.bind(rfb);
  if (!sendEncodings || typeof messages?.clientEncodings !== 'function') throw new Error("noVNC's encodings cannot be chosen: not 1.7's internals");
  // RFB.messages is shared by every connection of this page: it is filtered only while this one sends.
  internals._sendEncodings = () => {
    const send = messages.clientEncodings;
    messages.clientEncodings = (sock, encodings) => send.call(messages, sock, losslessEncodings(encodings));
    try {
      sendEncodings();
    } finally {
      messages.clientEncodings = send;
    }
  };
}
