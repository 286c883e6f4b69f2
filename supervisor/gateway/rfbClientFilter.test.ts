import { describe, expect, it } from 'vitest';
import { HANDSHAKE_ENCODINGS, RfbClientFilter, RfbProtocolError } from './rfbClientFilter';

const HANDSHAKE = Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1]), Buffer.from([1])]);

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}
function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** One well-formed message of every type noVNC sends. */
const MESSAGES = {
  setPixelFormat: Buffer.from([0, 0, 0, 0, 32, 24, 0, 1, ...u16(255), ...u16(255), ...u16(255), 16, 8, 0, 0, 0, 0]),
  setEncodings: Buffer.from([2, 0, ...u16(3), ...u32(7), ...u32(1), ...u32(0xffffff21)]),
  fbUpdateRequest: Buffer.from([3, 1, ...u16(0), ...u16(0), ...u16(1280), ...u16(800)]),
  keyDown: Buffer.from([4, 1, 0, 0, ...u32(0x61)]),
  keyUp: Buffer.from([4, 0, 0, 0, ...u32(0x61)]),
  pointer: Buffer.from([5, 1, ...u16(10), ...u16(20)]),
  cutText: Buffer.from([6, 0, 0, 0, ...u32(5), ...Buffer.from('hello')]),
  extendedCutText: Buffer.from([6, 0, 0, 0, ...u32(-8 >>> 0), 0, 0, 0, 1, 0, 0, 0, 0]),
  enableContinuous: Buffer.from([150, 1, ...u16(0), ...u16(0), ...u16(1280), ...u16(800)]),
  clientFence: Buffer.from([248, 0, 0, 0, ...u32(0x80000000), 3, 1, 2, 3]),
  qemuKeyDown: Buffer.from([255, 0, ...u16(1), ...u32(0x62), ...u32(48)]),
  setDesktopSize: Buffer.from([251, 0, ...u16(1920), ...u16(1080), 1, 0, ...Array(16).fill(0)]),
  xvp: Buffer.from([250, 0, 1, 2]),
};

function filterFor(inFront = true) {
  const state = { inFront, drops: [] as Array<[number, string]> };
  const filter = new RfbClientFilter({ inputAllowed: () => state.inFront, onDrop: (t, r) => state.drops.push([t, r]) });
  const forwarded: Buffer[] = [];
  const push = (b: Buffer) => forwarded.push(...filter.push(b));
  push(HANDSHAKE);
  forwarded.length = 0;
  return { filter, state, push, out: () => Buffer.concat(forwarded) };
}

describe('RFB client filter', () => {
  it('passes the handshake through, DesktopSize announced with ClientInit, and reaches the message phase', () => {
    const f = new RfbClientFilter({ inputAllowed: () => true });
    expect(Buffer.concat(f.push(HANDSHAKE))).toEqual(Buffer.concat([HANDSHAKE, HANDSHAKE_ENCODINGS]));
    expect([...HANDSHAKE_ENCODINGS]).toEqual([2, 0, 0, 1, ...u32(-223 >>> 0)]);
    expect(f.phase).toBe('message');
  });

  it("sends its DesktopSize right after ClientInit, before the viewer's own messages in the same chunk", () => {
    const f = new RfbClientFilter({ inputAllowed: () => true });
    const out = Buffer.concat(f.push(Buffer.concat([HANDSHAKE, MESSAGES.setEncodings, MESSAGES.fbUpdateRequest])));
    expect(out).toEqual(Buffer.concat([HANDSHAKE, HANDSHAKE_ENCODINGS, MESSAGES.setEncodings, MESSAGES.fbUpdateRequest]));
  });

  it('accepts VNC authentication (16-byte response) on external endpoints', () => {
    const f = new RfbClientFilter({ inputAllowed: () => true });
    const bytes = Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([2]), Buffer.alloc(16, 7), Buffer.from([1])]);
    expect(Buffer.concat(f.push(bytes))).toEqual(Buffer.concat([bytes, HANDSHAKE_ENCODINGS]));
    expect(f.phase).toBe('message');
  });

  it.each([
    ['an unsupported protocol version', Buffer.from('RFB 004.000\n')],
    ['a garbage greeting', Buffer.from('GET / HTTP/1.1\r\n')],
    ['a TLS security type', Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([19])])],
  ])('refuses %s', (_name, bytes) => {
    const f = new RfbClientFilter({ inputAllowed: () => true });
    expect(() => f.push(bytes)).toThrow(RfbProtocolError);
  });

  it.each(['setPixelFormat', 'setEncodings', 'fbUpdateRequest', 'enableContinuous', 'clientFence'] as const)(
    'forwards %s unchanged',
    (name) => {
      const t = filterFor();
      t.push(MESSAGES[name]);
      expect(t.out()).toEqual(MESSAGES[name]);
    },
  );

  it.each(['keyDown', 'pointer', 'qemuKeyDown'] as const)('forwards %s to the cage in front', (name) => {
    const t = filterFor(true);
    t.push(MESSAGES[name]);
    expect(t.out()).toEqual(MESSAGES[name]);
  });

  it.each(['keyDown', 'keyUp', 'pointer', 'qemuKeyDown'] as const)('drops %s for a cage behind', (name) => {
    const t = filterFor(false);
    t.push(MESSAGES[name]);
    expect(t.out().length).toBe(0);
    expect(t.state.drops).toEqual([[MESSAGES[name][0], 'not-in-front']]);
  });

  it.each(['cutText', 'extendedCutText'] as const)('drops %s whatever the focus', (name) => {
    const t = filterFor(true);
    t.push(Buffer.concat([MESSAGES[name], MESSAGES.fbUpdateRequest]));
    expect(t.out()).toEqual(MESSAGES.fbUpdateRequest);
    expect(t.state.drops).toEqual([[6, 'clipboard']]);
  });

  it('drops a clipboard payload split over many chunks without forwarding any of it', () => {
    const t = filterFor(true);
    const text = Buffer.alloc(100_000, 0x41);
    const msg = Buffer.concat([Buffer.from([6, 0, 0, 0, ...u32(text.length)]), text, MESSAGES.keyDown]);
    for (let i = 0; i < msg.length; i += 997) t.push(msg.subarray(i, i + 997));
    expect(t.out()).toEqual(MESSAGES.keyDown);
  });

  it('closes on a clipboard message over the limit before reading it', () => {
    const f = new RfbClientFilter({ inputAllowed: () => true, maxCutTextBytes: 1024 });
    f.push(HANDSHAKE);
    expect(() => f.push(Buffer.from([6, 0, 0, 0, ...u32(2048)]))).toThrow(/ClientCutText of 2048 bytes/);
  });

  it('drops SetDesktopSize and xvp: the shell never resizes or powers off a cage', () => {
    const t = filterFor(true);
    t.push(Buffer.concat([MESSAGES.setDesktopSize, MESSAGES.xvp, MESSAGES.pointer]));
    expect(t.out()).toEqual(MESSAGES.pointer);
    expect(t.state.drops.map(([type]) => type)).toEqual([251, 250]);
  });

  it('reassembles every message split at every byte boundary', () => {
    const all = Buffer.concat(Object.values(MESSAGES));
    const expected = Buffer.concat(
      Object.entries(MESSAGES)
        .filter(([name]) => !['cutText', 'extendedCutText', 'setDesktopSize', 'xvp'].includes(name))
        .map(([, b]) => b),
    );
    for (const size of [1, 2, 3, 5, 7, 13]) {
      const t = filterFor(true);
      for (let i = 0; i < all.length; i += size) t.push(all.subarray(i, i + size));
      expect(t.out()).toEqual(expected);
    }
  });

  it('handles several messages in one chunk, input interleaved with focus changes', () => {
    const t = filterFor(true);
    t.push(Buffer.concat([MESSAGES.keyDown, MESSAGES.fbUpdateRequest]));
    t.state.inFront = false;
    t.push(Buffer.concat([MESSAGES.keyUp, MESSAGES.pointer, MESSAGES.fbUpdateRequest]));
    expect(t.out()).toEqual(Buffer.concat([MESSAGES.keyDown, MESSAGES.fbUpdateRequest, MESSAGES.fbUpdateRequest]));
  });

  it.each([[1], [7], [99], [200], [254]])('closes the connection on unknown message type %i', (type) => {
    const t = filterFor(true);
    expect(() => t.push(Buffer.from([type, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/unknown client message type/);
    expect(() => t.push(MESSAGES.pointer)).toThrow(/already closed/);
  });

  it('closes on an unknown QEMU subtype and an oversized fence or encoding list', () => {
    expect(() => filterFor().push(Buffer.from([255, 1, 0, 0]))).toThrow(/QEMU client message subtype 1/);
    expect(() => filterFor().push(Buffer.from([248, 0, 0, 0, 0, 0, 0, 0, 65]))).toThrow(/ClientFence payload of 65/);
    expect(() => filterFor().push(Buffer.from([2, 0, ...u16(5000)]))).toThrow(/SetEncodings lists 5000/);
  });

  it('remembers held keys and releases them when asked (focus moved away)', () => {
    const t = filterFor(true);
    t.push(Buffer.concat([MESSAGES.keyDown, MESSAGES.qemuKeyDown, Buffer.from([4, 1, 0, 0, ...u32(0xffe3)]), Buffer.from([4, 0, 0, 0, ...u32(0xffe3)])]));
    const release = t.filter.releaseHeldKeys();
    expect(release).toEqual(Buffer.concat([Buffer.from([4, 0, 0, 0, ...u32(0x61)]), Buffer.from([255, 0, 0, 0, ...u32(0x62), ...u32(48)])]));
    expect(t.filter.releaseHeldKeys()).toBeNull();
  });

  it('strips cursor and desktop-name pseudo-encodings from SetEncodings', () => {
    const t = filterFor(true);
    const encodings = [7, -239, 1, -240, 0x574d5664, -307, -308, 0];
    const msg = Buffer.from([2, 0, ...u16(encodings.length), ...encodings.flatMap((e) => u32(e >>> 0))]);
    for (let i = 0; i < msg.length; i += 5) t.push(msg.subarray(i, i + 5));
    const kept = [7, 1, -308, 0];
    expect(t.out()).toEqual(Buffer.from([2, 0, ...u16(kept.length), ...kept.flatMap((e) => u32(e >>> 0))]));
  });

  it('never forwards a key the key filter reserves', () => {
    const f = new RfbClientFilter({ inputAllowed: () => true, keyFilter: (keysym) => keysym !== 0xff13 });
    f.push(HANDSHAKE);
    expect(f.push(Buffer.from([4, 1, 0, 0, ...u32(0xff13)]))).toEqual([]);
    expect(Buffer.concat(f.push(MESSAGES.keyDown))).toEqual(MESSAGES.keyDown);
  });
});
