// @vitest-environment jsdom
/**
 * The encoding guard (encodingGuard.ts) on noVNC 1.7's own dispatch of a rectangle (its
 * RFB._handleRect and _handleDataRect, with its real Tight decoders): a rectangle in an encoding
 * the viewer never asked for, or a Tight JPEG one without a JPEG quality level asked for, ends the
 * connection before the browser is handed a byte; what was asked goes through. What was asked is
 * what encodingChoice.ts recorded as it sent it: ask for a quality level and Tight JPEG passes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type RFB from '@novnc/novnc';
import { AskedEncodings, encodingsToAsk } from './encodingChoice';
import { refuseUnaskedEncodings } from './encodingGuard';
import { RectangleRefused } from './rectangleGuard';

type Handler = { _handleRect(): boolean };
type Decoder = { decodeRect(...args: unknown[]): boolean };
let RfbClass: { prototype: Handler };
let encodings: Record<string, number>;
let TightDecoder: new () => Decoder;
let TightPNGDecoder: new () => Decoder;

beforeAll(async () => {
  // @ts-expect-error noVNC ships no types for its internal modules
  RfbClass = ((await import('@novnc/novnc/core/rfb.js')) as { default: typeof RfbClass }).default;
  // @ts-expect-error noVNC ships no types for its internal modules
  encodings = ((await import('@novnc/novnc/core/encodings.js')) as { encodings: Record<string, number> }).encodings;
  // @ts-expect-error noVNC ships no types for its internal modules
  TightDecoder = ((await import('@novnc/novnc/core/decoders/tight.js')) as { default: typeof TightDecoder }).default;
  // @ts-expect-error noVNC ships no types for its internal modules
  TightPNGDecoder = ((await import('@novnc/novnc/core/decoders/tightpng.js')) as { default: typeof TightPNGDecoder }).default;
});

/** noVNC's receive queue, reduced to what its Tight decoders read. */
function queue(bytes: number[]) {
  let at = 0;
  return {
    rQwait: (_msg: string, n: number) => bytes.length - at < n,
    rQshift8: () => bytes[at++]!,
    rQshiftBytes: (n: number) => new Uint8Array(bytes.slice((at += n) - n, at)),
  };
}

/** noVNC 1.7's list for a 24-bit screen, H.264 supported, quality 6 (rfb.js, _sendEncodings). */
const NOVNC_LIST = [1, 50, 7, -260, 16, 21, 5, 2, 6, 0, -26, -254, -223, -224, -258, -261, -308, -309, -312, -313, -307, 0xc0a1e5ce, -316];

/** A connection on 800×600 that asked for `asked`, its rectangle `encoding` 16×16 at 0,0 with `bytes` to read. */
function connection(asked: AskedEncodings, encoding: number, bytes: number[] = []) {
  const calls: string[] = [];
  const display = { imageRect: (...args: unknown[]) => calls.push(`browser decodes ${String(args[4])}`), videoFrame: () => calls.push('browser decodes a frame') };
  const recording = { decodeRect: () => (calls.push(`decoded ${encoding}`), true) };
  const decoders: Record<number, Decoder> = { [encodings.encodingTight!]: new TightDecoder(), [encodings.encodingTightPNG!]: new TightPNGDecoder() };
  const rfb = Object.assign(Object.create(RfbClass.prototype) as Handler, {
    _FBU: { rects: 1, x: 0, y: 0, width: 16, height: 16, encoding },
    _fbWidth: 800,
    _fbHeight: 600,
    _fbDepth: 24,
    _decoders: new Proxy(decoders, { get: (own, key) => own[key as unknown as number] ?? recording }),
    _sock: queue(bytes),
    _display: display,
    _fail: (why: string) => calls.push(`failed: ${why.split(':')[0]}`),
    disconnect: () => calls.push('disconnect'),
  });
  refuseUnaskedEncodings(rfb as unknown as RFB, asked, (reason) => calls.push(`refused: ${reason}`));
  return { rfb, calls };
}

function askedAsTheViewerDoes(list = NOVNC_LIST): AskedEncodings {
  const asked = new AskedEncodings();
  asked.record(encodingsToAsk(list));
  return asked;
}

/** A Tight JPEG rectangle (control byte 0x90): 32 bytes that are no JPEG. */
const TIGHT_JPEG = [0x90, 32, ...new Array<number>(32).fill(0xab)];

describe('the encoding guard, on noVNC 1.7 dispatching a rectangle', () => {
  it('refuses H.264, TightPNG and JPEG rectangles, never asked for, before the browser sees a byte, and disconnects', () => {
    for (const name of ['encodingH264', 'encodingTightPNG', 'encodingJPEG']) {
      const encoding = encodings[name]!;
      const { rfb, calls } = connection(askedAsTheViewerDoes(), encoding, [0x0a, 1, 0]);
      expect(() => rfb._handleRect(), name).toThrow(RectangleRefused);
      expect(calls, name).toEqual([`refused: rectangle in encoding ${encoding} (never asked for)`, 'disconnect']);
    }
  });

  it('refuses a Tight JPEG rectangle without a JPEG quality level asked for', () => {
    const { rfb, calls } = connection(askedAsTheViewerDoes(), encodings.encodingTight!, TIGHT_JPEG);
    rfb._handleRect(); // noVNC catches what its decoder throws, and fails the connection
    expect(calls).toEqual(['refused: Tight JPEG rectangle (no JPEG quality level asked for)', 'disconnect', 'failed: Error decoding rect']);
  });

  it('lets through what was asked: Raw, Tight, ZRLE…; Tight JPEG once a quality level was asked for', () => {
    for (const name of ['encodingRaw', 'encodingCopyRect', 'encodingHextile', 'encodingZRLE', 'encodingRRE', 'encodingZlib']) {
      const encoding = encodings[name]!;
      const { rfb, calls } = connection(askedAsTheViewerDoes(), encoding);
      expect(rfb._handleRect(), name).toBe(true);
      expect(calls, name).toEqual([`decoded ${encoding}`]);
    }
    // Asked with JPEG quality 8, as TigerVNC's vncviewer does: the same guard follows what was asked.
    const asked = askedAsTheViewerDoes();
    asked.record([-32 + 8]);
    const { rfb, calls } = connection(asked, encodings.encodingTight!, TIGHT_JPEG);
    expect(rfb._handleRect()).toBe(true);
    expect(calls).toEqual(['browser decodes image/jpeg']);
  });

  it('lets Raw through before any SetEncodings (RFB: every client takes it)', () => {
    const { rfb, calls } = connection(new AskedEncodings(), encodings.encodingRaw!);
    expect(rfb._handleRect()).toBe(true);
    expect(calls).toEqual([`decoded ${encodings.encodingRaw}`]);
  });
});
