/**
 * What the viewer asks its cage's server for: noVNC's encodings, less the JPEG quality level and
 * less the encodings only the browser decodes (H.264, TightPNG, JPEG), and the record of what it
 * asked, which encodingGuard.ts holds every rectangle to. A
 * TigerVNC server given a quality level sends every rectangle of more than 96 colours as JPEG, which
 * noVNC can only hand the browser as a base64 data: URL (an image load and a decode on the viewer's
 * main thread each); without it those rectangles come as zlib-compressed pixels (palettes of up to
 * 256 colours, or full colour), decoded straight into the viewer's memory framebuffer
 * (tightInMemory.ts). Measured on a scrolling page: fewer bytes per frame and less CPU on the whole
 * path, the server's more costly compression counted (bench/RESULTS.md, Firefox scroll). TigerVNC's
 * own vncviewer does ask for JPEG (quality 8 above 16 Mbit/s, CConn::autoSelectFormatAndEncoding),
 * which it decodes natively: matching it through noVNC's image path cost this viewer twice as much,
 * and through the browser's ImageDecoder with noVNC reading on meanwhile (jpegInMemory.ts,
 * renderQueueReadAhead.ts: `jpegQuality` below) more CPU a frame on the whole path than lossless.
 *
 * noVNC 1.7 has no option to leave the quality level out: its list is filtered as it is sent, the
 * way framebufferGuard.ts and drawnPixels.ts wrap its internals. Pinned to 1.7 in package.json.
 */
import type RFB from '@novnc/novnc';

/**
 * Encodings noVNC hands the browser to decode (an image or a video frame, drawn when it is ready):
 * what follows waits in noVNC's render queue meanwhile (renderQueueBound.ts). TigerVNC's Xvnc
 * sends none of them; asked for, a hostile cage could send them.
 */
const H264 = 50;
const TIGHT_PNG = -260;
const JPEG = 21;
const BROWSER_DECODED: ReadonlySet<number> = new Set([H264, TIGHT_PNG, JPEG]);
/** RFB: every client takes Raw, asked for or not. */
const RAW = 0;
/** noVNC's encodings that carry pixels in a form of their own (RRE, Hextile, Zlib, Tight, ZRLE): not Raw nor CopyRect. */
const ENCODED: ReadonlySet<number> = new Set([2, 5, 6, 7, 16]);

/** RFB's pseudo-encodings for JPEG quality levels 0 to 9, and for compression levels 0 to 9. */
const QUALITY_LEVEL_0 = -32;
const QUALITY_LEVEL_9 = -23;
const COMPRESS_LEVEL_0 = -256;
const COMPRESS_LEVEL_9 = -247;

/** The JPEG quality TigerVNC's vncviewer asks for above 16 Mbit/s (CConn::autoSelectFormatAndEncoding). */
export const VNCVIEWER_QUALITY = 8;

export function isJpegQualityLevel(encoding: number): boolean {
  return encoding >= QUALITY_LEVEL_0 && encoding <= QUALITY_LEVEL_9;
}

function isCompressLevel(encoding: number): boolean {
  return encoding >= COMPRESS_LEVEL_0 && encoding <= COMPRESS_LEVEL_9;
}

/**
 * What a viewer chooses beyond noVNC's list: a JPEG quality level (0–9) for Tight's JPEG
 * rectangles, none when absent; a compression level (0–9), noVNC's when absent.
 */
export interface EncodingChoice {
  jpegQuality?: number;
  compressLevel?: number;
  /**
   * Pixels as they are: only Raw and CopyRect (and the pseudo-encodings) are asked, so a TigerVNC
   * server has no compressing encoder to choose (EncodeManager::prepareEncoders falls back to Raw
   * for every class of rectangle); its compression level, noVNC's, keeps its framebuffer
   * comparison on (VNCSConnectionST::getComparerState: off below 2 only).
   */
  raw?: boolean;
}

/** The encodings a viewer asks for: noVNC's own, in its order, without a JPEG quality level. */
export function losslessEncodings(encodings: readonly number[]): number[] {
  return encodings.filter((encoding) => !isJpegQualityLevel(encoding));
}

/**
 * The encodings a viewer asks for: noVNC's, less those only the browser decodes, its quality level
 * replaced by the one chosen (or left out), its compression level by the one chosen.
 */
export function encodingsToAsk(encodings: readonly number[], choice: EncodingChoice = {}): number[] {
  const level = (n: number | undefined) => (n === undefined ? undefined : Math.min(9, Math.max(0, Math.round(n))));
  const [quality, compress] = [level(choice.jpegQuality), level(choice.compressLevel)];
  return encodings.flatMap((encoding) => {
    if (BROWSER_DECODED.has(encoding)) return [];
    if (choice.raw && ENCODED.has(encoding)) return [];
    if (isJpegQualityLevel(encoding)) return quality === undefined ? [] : [QUALITY_LEVEL_0 + quality];
    if (isCompressLevel(encoding) && compress !== undefined) return [COMPRESS_LEVEL_0 + compress];
    return [encoding];
  });
}

/** Everything this connection asked its server for, at any time: what it may be sent. */
export class AskedEncodings {
  private readonly asked = new Set<number>([RAW]);
  private qualityLevel = false;

  record(encodings: readonly number[]): void {
    for (const encoding of encodings) {
      this.asked.add(encoding);
      if (isJpegQualityLevel(encoding)) this.qualityLevel = true;
    }
  }
  has(encoding: number): boolean {
    return this.asked.has(encoding);
  }
  /** RFB's Tight: a server may send JPEG rectangles only to a client that asked for a quality level. */
  get tightJpeg(): boolean {
    return this.qualityLevel;
  }
}

interface ClientEncodingsSender {
  clientEncodings(sock: unknown, encodings: number[]): void;
}

/** noVNC's encodings less any JPEG: what costs the viewer least where the browser has no ImageDecoder. */
export function askForLosslessEncodings(rfb: RFB): AskedEncodings {
  return askForEncodings(rfb, {});
}

export function askForEncodings(rfb: RFB, choice: EncodingChoice): AskedEncodings {
  const internals = rfb as unknown as { _sendEncodings?: () => void };
  const messages = (rfb.constructor as unknown as { messages?: ClientEncodingsSender }).messages;
  const sendEncodings = internals._sendEncodings?.bind(rfb);
  if (!sendEncodings || typeof messages?.clientEncodings !== 'function') throw new Error("noVNC's encodings cannot be chosen: not 1.7's internals");
  const asked = new AskedEncodings();
  // RFB.messages is shared by every connection of this page: it is filtered only while this one sends.
  internals._sendEncodings = () => {
    const send = messages.clientEncodings;
    messages.clientEncodings = (sock, encodings) => {
      const chosen = encodingsToAsk(encodings, choice);
      asked.record(chosen);
      send.call(messages, sock, chosen);
    };
    try {
      sendEncodings();
    } finally {
      messages.clientEncodings = send;
    }
  };
  return asked;
}
