/**
 * The viewer asks its cage for noVNC's encodings without a JPEG quality level (so a TigerVNC server
 * sends no JPEG) and without those only the browser decodes (H.264, TightPNG, JPEG), everything
 * else as noVNC lists it, and keeps what it asked; noVNC's shared message table is left as it was.
 */
import { describe, expect, it } from 'vitest';
import type RFB from '@novnc/novnc';
import { askForEncodings, askForLosslessEncodings, encodingsToAsk, isJpegQualityLevel, losslessEncodings, VNCVIEWER_QUALITY } from './encodingChoice';

/** noVNC 1.7's list for a 24-bit screen with quality 6 and compression 2 (rfb.js, _sendEncodings). */
const NOVNC_LIST = [1, 7, -260, 16, 21, 5, 2, 6, 0, -32 + 6, -256 + 2, -223, -224, -258, -261, -308, -309, -312, -313, -307, 0xc0a1e5ce, -316];

describe('encoding choice', () => {
  it('leaves out the JPEG quality levels, and only them, in noVNC order', () => {
    expect(losslessEncodings(NOVNC_LIST)).toEqual(NOVNC_LIST.filter((e) => e !== -26));
    expect([-33, -32, -23, -22].map(isJpegQualityLevel)).toEqual([false, true, true, false]);
    expect(losslessEncodings(NOVNC_LIST)).toContain(-254); // the compression level stays
  });

  it('asks for none of the encodings the browser decodes (H.264, TightPNG, JPEG)', () => {
    const withH264 = [1, 50, ...NOVNC_LIST.slice(1)];
    expect(encodingsToAsk(withH264)).toEqual(losslessEncodings(NOVNC_LIST).filter((e) => e !== -260 && e !== 21));
    expect(encodingsToAsk(withH264)).toContain(7); // Tight, decoded in memory
  });

  it("filters noVNC's SetEncodings as it is sent, and restores noVNC's shared message table", () => {
    const sent: number[][] = [];
    const messages = { clientEncodings: (_sock: unknown, list: number[]) => void sent.push(list) };
    const original = messages.clientEncodings;
    class FakeRfb {
      static messages = messages;
      _sock = {};
      _sendEncodings() {
        FakeRfb.messages.clientEncodings(this._sock, NOVNC_LIST);
      }
    }
    const rfb = new FakeRfb();
    const asked = askForLosslessEncodings(rfb as unknown as RFB);
    expect(asked.has(7)).toBe(false); // nothing asked yet
    expect(asked.has(0)).toBe(true); // but Raw, which RFB lets every server send
    rfb._sendEncodings();
    expect(sent).toEqual([encodingsToAsk(NOVNC_LIST)]);
    expect(sent[0]!.some(isJpegQualityLevel)).toBe(false);
    // What was asked is what a rectangle may be in (encodingGuard.ts).
    expect([7, 16, 1, -260, 21, 50].map((e) => asked.has(e))).toEqual([true, true, true, false, false, false]);
    expect(asked.tightJpeg).toBe(false);
    expect(messages.clientEncodings).toBe(original);
    // Another connection of the page, not wrapped, still sends noVNC's own list.
    new FakeRfb()._sendEncodings();
    expect(sent[1]).toEqual(NOVNC_LIST);
  });

  it("asks for JPEG at vncviewer's quality when chosen, still none of the browser's own encodings, and records it", () => {
    expect(encodingsToAsk(NOVNC_LIST, { jpegQuality: VNCVIEWER_QUALITY })).toEqual(encodingsToAsk(NOVNC_LIST).flatMap((e) => (e === -254 ? [-32 + 8, -254] : [e])));
    expect(encodingsToAsk(NOVNC_LIST, { compressLevel: 1 })).toEqual(encodingsToAsk(NOVNC_LIST).map((e) => (e === -254 ? -255 : e)));
    const sent: number[][] = [];
    const messages = { clientEncodings: (_sock: unknown, list: number[]) => void sent.push(list) };
    const rfb = { _sock: {}, _sendEncodings: () => messages.clientEncodings({}, NOVNC_LIST), constructor: { messages } };
    const asked = askForEncodings(rfb as unknown as RFB, { jpegQuality: VNCVIEWER_QUALITY });
    rfb._sendEncodings();
    expect(sent[0]).toContain(-24);
    expect(sent[0]).not.toContain(21); // the JPEG encoding itself (the browser's <img>): never asked
    expect(asked.tightJpeg).toBe(true); // the guard lets Tight's JPEG rectangles through, and only them
    expect([21, -260, 50].map((e) => asked.has(e))).toEqual([false, false, false]);
  });

  it('asks for pixels as they are when chosen: Raw and CopyRect, every pseudo-encoding kept, the compression level noVNC\'s', () => {
    const raw = encodingsToAsk(NOVNC_LIST, { raw: true });
    expect(raw).toEqual(NOVNC_LIST.filter((e) => ![7, -260, 16, 21, 5, 2, 6, -26].includes(e)));
    expect(raw.slice(0, 2)).toEqual([1, 0]);
    expect(raw).toContain(-254); // compression 2: TigerVNC keeps comparing its framebuffer (getComparerState)
    expect(raw).toContain(0xc0a1e5ce); // noVNC's pseudo-encodings above 0 stay (extended clipboard)
    const sent: number[][] = [];
    const messages = { clientEncodings: (_sock: unknown, list: number[]) => void sent.push(list) };
    const rfb = { _sock: {}, _sendEncodings: () => messages.clientEncodings({}, NOVNC_LIST), constructor: { messages } };
    const asked = askForEncodings(rfb as unknown as RFB, { raw: true });
    rfb._sendEncodings();
    // A Tight, ZRLE or Hextile rectangle is then refused (encodingGuard.ts): never asked for.
    expect([0, 1, 7, 16, 5, 2, 6, 21, -260].map((e) => asked.has(e))).toEqual([true, true, false, false, false, false, false, false, false]);
    expect(asked.tightJpeg).toBe(false);
  });

  it('refuses a noVNC whose internals are not the ones it wraps', () => {
    expect(() => askForLosslessEncodings({} as RFB)).toThrow(/not 1.7/);
  });
});
