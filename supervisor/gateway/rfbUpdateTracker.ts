/**
 * Where the cage → viewer RFB stream stands: inside a FramebufferUpdate, or between messages. The
 * gateway holds the reads of an update until its last rectangle has come, then forwards them as one
 * WebSocket message (vncGateway.ts): TigerVNC 1.12's Xvnc sends every rectangle with a send() of
 * its own on its unix socket (its cork is TCP's), 16–62 reads per frame of a scrolling page, each a
 * message through the browser's network service and the viewer's renderer. The viewer shows nothing
 * of an update before its end (noVNC flips at the update's end, drawInMemory.ts), so holding its
 * rectangles until then delays nothing on screen.
 *
 * It reads only lengths: the bytes pass untouched, and nothing is allocated from what the cage
 * says. Anything it does not know (another handshake than RFB 3.8 with security None alone, an
 * unknown message or encoding, noVNC's 8-bit colour) and it is `lost` for good: every read is then
 * forwarded as it comes, as before. A cage that lies about lengths only delays its own screen, and
 * the gateway's hold ends after a short wait whatever the tracker says.
 *
 * Sizes assume noVNC's pixel format, 32 bits per pixel, depth 24 (Tight's compact pixels 3 bytes).
 */

/** One step of the parse: how many header bytes it needs before it can decide. */
type Step =
  | 'version'
  | 'securityCount'
  | 'securityTypes'
  | 'securityResult'
  | 'serverInit'
  | 'desktopName'
  | 'message'
  | 'updateHeader'
  | 'colourMap'
  | 'cutText'
  | 'fence'
  | 'xvp'
  | 'rect'
  | 'length32'
  | 'rre'
  | 'h264'
  | 'vmwareCursor'
  | 'extendedDesktopSize'
  | 'tightControl'
  | 'tightFilter'
  | 'tightPalette'
  | 'tightData'
  | 'compactLength'
  | 'rectDone'
  | 'lost';

const Encoding = {
  Raw: 0,
  CopyRect: 1,
  RRE: 2,
  Zlib: 6,
  Tight: 7,
  ZRLE: 16,
  H264: 50,
  DesktopSize: -223,
  LastRect: -224,
  Cursor: -239,
  QemuExtendedKeyEvent: -258,
  QemuLedState: -261,
  DesktopName: -307,
  ExtendedDesktopSize: -308,
  ExtendedMouseButtons: -316,
  VMwareCursor: 0x574d5664,
  VMwareLedState: 0x574d5668,
} as const;

const BYTES_PER_PIXEL = 4;
/** Tight's compact pixel at 32 bits per pixel, depth 24. */
const TPIXEL = 3;
/** Tight sends fewer bytes than this uncompressed, without a length. */
const TIGHT_MIN_TO_COMPRESS = 12;
/** noVNC falls back to 8-bit colour for a desktop of this name (rfb.js, ServerInit). */
const LOW_COLOUR_DESKTOP = 'Intel(r) AMT KVM';

export class RfbUpdateTracker {
  private step: Step = 'version';
  /** Header bytes the current step needs, and those gathered so far. */
  private need = 12;
  private readonly header = new Uint8Array(24);
  private have = 0;
  /** Payload bytes to pass over before the current step. */
  private skip = 0;
  /** Rectangles still to come in the update under way (0: between messages). */
  private rectsLeft = 0;
  private inUpdate = false;
  private width = 0;
  private height = 0;
  private tightRowBytes = 0;
  private compact = 0;
  private compactBytes = 0;

  /** Inside a FramebufferUpdate whose last rectangle has not come yet. */
  get insideUpdate(): boolean {
    return this.inUpdate && this.step !== 'lost';
  }

  /** The tracker no longer knows where the stream stands: every read is forwarded as it comes. */
  get lost(): boolean {
    return this.step === 'lost';
  }

  /**
   * The next `bytes` of the stream, in `buf` from its start. Returns how many of them end outside
   * any update (all of them when the stream is between messages after them, or when lost): an
   * update that ends in this read goes on at once though the next one has begun in it.
   */
  feed(buf: Uint8Array, bytes: number): number {
    let at = 0;
    let outside = 0;
    while (at < bytes && this.step !== 'lost') {
      if (this.step === 'message' && this.have === 0 && this.skip === 0) outside = at;
      if (this.skip > 0) {
        const take = Math.min(this.skip, bytes - at);
        this.skip -= take;
        at += take;
        continue;
      }
      while (this.have < this.need && at < bytes) this.header[this.have++] = buf[at++]!;
      if (this.have < this.need) break;
      this.decide();
    }
    // Steps that need no byte (a rectangle or an update ending) are decided without waiting for one.
    while (this.skip === 0 && this.need === 0 && this.step !== 'lost') this.decide();
    return this.insideUpdate ? outside : bytes;
  }

  private goTo(step: Step, need: number, skip = 0): void {
    this.step = step;
    this.need = need;
    this.have = 0;
    this.skip = skip;
  }

  private u16(at: number): number {
    return (this.header[at]! << 8) | this.header[at + 1]!;
  }

  private u32(at: number): number {
    return this.u16(at) * 65536 + this.u16(at + 2);
  }

  private s32(at: number): number {
    return this.u32(at) | 0;
  }

  private decide(): void {
    const h = this.header;
    switch (this.step) {
      case 'version': {
        const version = String.fromCharCode(...h.subarray(0, 12));
        return version === 'RFB 003.008\n' ? this.goTo('securityCount', 1) : this.goTo('lost', 0); // 3.7 has no SecurityResult after None
      }
      case 'securityCount':
        return h[0] === 1 ? this.goTo('securityTypes', 1) : this.goTo('lost', 0); // one type offered, or a refusal's reason
      case 'securityTypes':
        return h[0] === 1 ? this.goTo('securityResult', 4) : this.goTo('lost', 0); // None alone: no exchange of the viewer's choosing
      case 'securityResult':
        return this.u32(0) === 0 ? this.goTo('serverInit', 24) : this.goTo('lost', 0);
      case 'serverInit': {
        const nameBytes = this.u32(20);
        return nameBytes === LOW_COLOUR_DESKTOP.length ? this.goTo('desktopName', nameBytes) : this.goTo('message', 1, nameBytes);
      }
      case 'desktopName':
        return String.fromCharCode(...h.subarray(0, this.need)) === LOW_COLOUR_DESKTOP ? this.goTo('lost', 0) : this.goTo('message', 1);
      case 'message':
        return this.message(h[0]!);
      case 'updateHeader':
        this.rectsLeft = this.u16(1);
        this.inUpdate = this.rectsLeft > 0;
        return this.inUpdate ? this.goTo('rect', 12) : this.goTo('message', 1);
      case 'colourMap':
        return this.goTo('message', 1, 6 * this.u16(3));
      case 'cutText':
        return this.goTo('message', 1, Math.abs(this.s32(3)));
      case 'fence':
        return this.goTo('message', 1, h[7]!);
      case 'xvp':
        return this.goTo('message', 1);
      case 'rect':
        this.width = this.u16(4);
        this.height = this.u16(6);
        return this.rect(this.s32(8));
      case 'length32':
        return this.goTo('rectDone', 0, this.u32(0));
      case 'rre':
        return this.goTo('rectDone', 0, BYTES_PER_PIXEL + this.u32(0) * (BYTES_PER_PIXEL + 8));
      case 'h264':
        return this.goTo('rectDone', 0, this.u32(0));
      case 'vmwareCursor': {
        const pixels = this.width * this.height * BYTES_PER_PIXEL;
        if (h[0] === 0) return this.goTo('rectDone', 0, 2 * pixels);
        return h[0] === 1 ? this.goTo('rectDone', 0, pixels) : this.goTo('lost', 0);
      }
      case 'extendedDesktopSize':
        return this.goTo('rectDone', 0, 16 * h[0]!);
      case 'tightControl':
        return this.tightControl(h[0]! >> 4);
      case 'tightFilter':
        if (h[0] === 1) return this.goTo('tightPalette', 1);
        if (h[0] === 0 || h[0] === 2) return this.tightData(this.width * TPIXEL);
        return this.goTo('lost', 0);
      case 'tightPalette': {
        const colours = h[0]! + 1;
        this.tightRowBytes = colours <= 2 ? Math.ceil(this.width / 8) : this.width;
        return this.goTo('tightData', 0, colours * TPIXEL);
      }
      case 'tightData':
        return this.tightData(this.tightRowBytes);
      case 'compactLength': {
        const byte = h[0]!;
        this.compact += (this.compactBytes < 2 ? byte & 0x7f : byte) * 128 ** this.compactBytes;
        this.compactBytes++;
        if (this.compactBytes < 3 && byte & 0x80) return this.goTo('compactLength', 1);
        return this.goTo('rectDone', 0, this.compact);
      }
      case 'rectDone':
        this.rectsLeft--;
        if (this.rectsLeft > 0) return this.goTo('rect', 12);
        this.inUpdate = false;
        return this.goTo('message', 1);
      default:
        return this.goTo('lost', 0);
    }
  }

  private message(type: number): void {
    switch (type) {
      case 0:
        this.inUpdate = true; // until its header says it has no rectangle
        return this.goTo('updateHeader', 3);
      case 1:
        return this.goTo('colourMap', 5);
      case 2: // Bell
        return this.goTo('message', 1);
      case 3:
        return this.goTo('cutText', 7);
      case 150: // EndOfContinuousUpdates
        return this.goTo('message', 1);
      case 248:
        return this.goTo('fence', 8);
      case 250:
        return this.goTo('xvp', 3);
      default:
        return this.goTo('lost', 0);
    }
  }

  private rect(encoding: number): void {
    const pixels = this.width * this.height;
    switch (encoding) {
      case Encoding.Raw:
        return this.goTo('rectDone', 0, pixels * BYTES_PER_PIXEL);
      case Encoding.CopyRect:
        return this.goTo('rectDone', 0, 4);
      case Encoding.RRE:
        return this.goTo('rre', 4);
      case Encoding.Zlib:
      case Encoding.ZRLE:
      case Encoding.DesktopName:
        return this.goTo('length32', 4);
      case Encoding.H264:
        return this.goTo('h264', 8);
      case Encoding.Tight:
        return this.goTo('tightControl', 1);
      case Encoding.LastRect:
        this.rectsLeft = 1; // this one is the last
        return this.goTo('rectDone', 0);
      case Encoding.DesktopSize:
      case Encoding.QemuExtendedKeyEvent:
      case Encoding.ExtendedMouseButtons:
        return this.goTo('rectDone', 0);
      case Encoding.Cursor:
        return this.goTo('rectDone', 0, pixels * BYTES_PER_PIXEL + Math.ceil(this.width / 8) * this.height);
      case Encoding.VMwareCursor:
        return this.goTo('vmwareCursor', 2);
      case Encoding.ExtendedDesktopSize:
        return this.goTo('extendedDesktopSize', 4);
      case Encoding.QemuLedState:
        return this.goTo('rectDone', 0, 1);
      case Encoding.VMwareLedState:
        return this.goTo('rectDone', 0, 4);
      default:
        return this.goTo('lost', 0);
    }
  }

  /** Tight's compression control, its stream-reset bits shifted off. */
  private tightControl(kind: number): void {
    if (kind === 8) return this.goTo('rectDone', 0, TPIXEL); // fill
    if (kind === 9) return this.compactLength(); // JPEG
    if (kind > 9) return this.goTo('lost', 0); // PNG: TightPNG, which a TigerVNC server never sends
    if (kind & 4) return this.goTo('tightFilter', 1);
    return this.tightData(this.width * TPIXEL);
  }

  private tightData(rowBytes: number): void {
    const bytes = rowBytes * this.height;
    if (bytes < TIGHT_MIN_TO_COMPRESS) return this.goTo('rectDone', 0, bytes);
    return this.compactLength();
  }

  private compactLength(): void {
    this.compact = 0;
    this.compactBytes = 0;
    this.goTo('compactLength', 1);
  }
}
