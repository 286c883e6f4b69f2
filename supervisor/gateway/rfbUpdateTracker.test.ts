import { describe, expect, it } from 'vitest';
import { serverInit } from './rfbServerHandshake';
import { RfbUpdateTracker } from './rfbUpdateTracker';

const u16 = (n: number) => [n >> 8, n & 0xff];
const s32 = (n: number) => [(n >> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const rectHeader = (w: number, h: number, encoding: number) => [...u16(0), ...u16(0), ...u16(w), ...u16(h), ...s32(encoding)];
const bytes = (n: number, fill = 0xab) => new Array<number>(n).fill(fill);

const handshake = Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1]), Buffer.alloc(4), serverInit(1280, 800, 'low')]);

/** A Tight update as TigerVNC 1.12's Xvnc writes one: fills, JPEG, palettes, full colour, copies, a cursor. */
const tightUpdate = Buffer.from([
  0, 0, ...u16(8),
  ...rectHeader(64, 16, 7), 0x80, 1, 2, 3, // fill
  ...rectHeader(64, 64, 7), 0x90, 0x81, 0x01, ...bytes(129), // JPEG, a 2-byte compact length
  ...rectHeader(64, 2, 7), 0x40, 1, 1, ...bytes(6), 16, ...bytes(16), // 2-colour palette: 8 bytes a row × 2 rows, zlib-compressed, 16 bytes
  ...rectHeader(3, 1, 7), 0x40, 1, 1, ...bytes(6), 0x01, // 2 colours, 1 byte: sent as it is
  ...rectHeader(100, 10, 7), 0x50, 1, 15, ...bytes(48), 0xff, 0xff, 0x01, ...bytes(32767), // 16 colours, a 3-byte compact length
  ...rectHeader(200, 20, 7), 0x20, 0x05, ...bytes(5), // full colour (stream 2, no filter byte)
  ...rectHeader(30, 30, 1), ...bytes(4), // CopyRect
  ...rectHeader(4, 3, -239), ...bytes(4 * 3 * 4 + 3), // the cursor
]);

/** An update of unknown length, ended by LastRect (nRects 0xFFFF, as Xvnc writes when noVNC asks for it). */
const lastRectUpdate = Buffer.from([0, 0, 0xff, 0xff, ...rectHeader(2, 2, 0), ...bytes(16), ...rectHeader(0, 0, -224)]);

const others = Buffer.from([
  2, // Bell
  3, 0, 0, 0, ...s32(5), ...bytes(5), // ServerCutText
  150, // EndOfContinuousUpdates
  248, 0, 0, 0, ...s32(0), 3, 1, 2, 3, // ServerFence
  0, 0, 0, 0, // an empty update
]);

/** Feeds `stream` cut at `cuts`; says at every cut whether the tracker holds an update open. */
function statesAt(stream: Buffer, cuts: number[]): Array<[number, boolean, boolean]> {
  const tracker = new RfbUpdateTracker();
  let from = 0;
  return [...cuts, stream.length].map((to) => {
    const part = Buffer.from(stream.subarray(from, to));
    tracker.feed(part, part.length);
    from = to;
    return [to, tracker.insideUpdate, tracker.lost];
  });
}

describe('RFB update tracker (where the gateway may end a held message)', () => {
  const stream = Buffer.concat([handshake, tightUpdate, others, lastRectUpdate]);
  const ends = new Set([handshake.length, handshake.length + tightUpdate.length, handshake.length + tightUpdate.length + others.length, stream.length]);

  it('is inside an update exactly between its header and the end of its last rectangle, at every cut', () => {
    const updates = [
      [handshake.length, handshake.length + tightUpdate.length],
      [handshake.length + tightUpdate.length + others.length - 4, handshake.length + tightUpdate.length + others.length], // the empty one, until its header is whole
      [stream.length - lastRectUpdate.length, stream.length],
    ];
    for (let cut = 1; cut < stream.length; cut += cut > handshake.length + 200 && cut < handshake.length + tightUpdate.length - 200 ? 97 : 1) {
      const [, inside, lost] = statesAt(stream, [cut])[0]!;
      expect(lost, `lost at ${cut}`).toBe(false);
      expect(inside, `at ${cut}`).toBe(updates.some(([start, end]) => cut > start! && cut < end!));
    }
    expect(statesAt(stream, [])).toEqual([[stream.length, false, false]]);
    expect([...ends].map((end) => statesAt(stream, [end])[0]![1])).toEqual([false, false, false, false]);
  });

  it('says how much of a read ends outside any update: an update that ends in it, and what came before', () => {
    const tracker = new RfbUpdateTracker();
    const read = Buffer.concat([handshake, tightUpdate, others.subarray(0, 14), lastRectUpdate.subarray(0, 30)]);
    expect(tracker.feed(read, read.length)).toBe(handshake.length + tightUpdate.length + 14);
    const rest = Buffer.concat([lastRectUpdate.subarray(30), Buffer.from([2]), tightUpdate.subarray(0, 9)]);
    expect(tracker.feed(rest, rest.length)).toBe(lastRectUpdate.length - 30 + 1);
    expect(tracker.feed(tightUpdate.subarray(9, 20), 11)).toBe(0);
    expect(tracker.feed(tightUpdate.subarray(20), tightUpdate.length - 20)).toBe(tightUpdate.length - 20);
  });

  it('follows a stream fed a byte at a time', () => {
    const tracker = new RfbUpdateTracker();
    for (let i = 0; i < stream.length; i++) tracker.feed(stream.subarray(i, i + 1), 1);
    expect([tracker.insideUpdate, tracker.lost]).toEqual([false, false]);
  });

  it.each([
    ['an unknown encoding', Buffer.from([0, 0, 0, 1, ...rectHeader(1, 1, 5)])], // Hextile: not followed
    ['an unknown message', Buffer.from([77])],
    ['TightPNG', Buffer.from([0, 0, 0, 1, ...rectHeader(1, 1, 7), 0xa0])],
  ])('gives up for good at %s: every read is then forwarded as it comes', (_what, tail) => {
    const tracker = new RfbUpdateTracker();
    const all = Buffer.concat([handshake, tail, tightUpdate.subarray(0, 20)]);
    tracker.feed(all, all.length);
    expect([tracker.insideUpdate, tracker.lost]).toEqual([false, true]);
  });

  it.each([
    ['RFB 3.7 (no SecurityResult after None)', Buffer.concat([Buffer.from('RFB 003.007\n'), Buffer.from([1, 1])])],
    ['a choice of security types', Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([2, 1, 2])])],
    ['a desktop named so that noVNC turns to 8-bit colour', Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1]), Buffer.alloc(4), serverInit(640, 480, 'Intel(r) AMT KVM')])],
  ])('does not follow %s', (_what, start) => {
    const tracker = new RfbUpdateTracker();
    tracker.feed(start, start.length);
    expect(tracker.lost).toBe(true);
  });

  it('never holds past an update a cage says is huge: its bytes are counted, never allocated', () => {
    const tracker = new RfbUpdateTracker();
    const all = Buffer.concat([handshake, Buffer.from([0, 0, 0, 1, ...rectHeader(65535, 65535, 0)])]);
    tracker.feed(all, all.length);
    expect(tracker.insideUpdate).toBe(true); // ~16 GiB announced: the gateway's own limits end its hold
    tracker.feed(Buffer.alloc(1 << 20), 1 << 20);
    expect(tracker.insideUpdate).toBe(true);
  });
});
