/**
 * The viewer's paced channel: how many of a flooding cage's messages reach noVNC per animation
 * frame in front and beside, counted in bytes read plus pixels drawn (a Raw flood five per pixel,
 * a compressed screen about one), none while hidden once connected (the handshake still goes), and
 * reading again once the frame that shows it is drawn. A stream of our own stands for the browser's WebSocketStream;
 * animation frames are run by hand, so nothing here depends on time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PacedChannel, WORK_PER_FRAME, workPerFrame } from './pacedChannel';

/** One Raw message: a quarter of the front budget of work (4 bytes read and 1 pixel drawn per pixel). */
const MESSAGE_PIXELS = WORK_PER_FRAME.front / 4 / 5;

class FakeStream {
  static last: FakeStream;
  source!: ReadableStreamDefaultController<ArrayBuffer>;
  readonly sent: Uint8Array[] = [];
  readonly opened: Promise<unknown>;
  readonly closed = new Promise<{ closeCode: number; reason: string }>(() => undefined);
  constructor() {
    FakeStream.last = this;
    const readable = new ReadableStream<ArrayBuffer>({ start: (c) => void (this.source = c) });
    const writable = new WritableStream<Uint8Array>({ write: (chunk) => void this.sent.push(chunk) });
    this.opened = Promise.resolve({ readable, writable, protocol: '' });
  }
  closes = 0;
  close(): void {
    this.closes++;
  }
  /** The cage sends `count` Raw messages at once (a flood: more than any budget). */
  flood(count: number): void {
    for (let i = 0; i < count; i++) this.source.enqueue(new ArrayBuffer(MESSAGE_PIXELS * 4));
  }
  /** The cage sends `count` compressed messages of `pixels` each, a third of a byte per pixel (a scrolled page in Tight and JPEG). */
  compressed(count: number, pixels: number): void {
    for (let i = 0; i < count; i++) this.source.enqueue(new ArrayBuffer(Math.round(pixels / 3)));
  }
}

/** Lets the channel's reading loop run as far as it may (it never waits on a timer here). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe('PacedChannel', () => {
  let frames: (() => void)[];
  let delivered: number;
  /** Pixels each message draws: Raw (a quarter of its bytes) unless a test says otherwise. */
  let pixelsOf: (bytes: number) => number;
  const nextFrame = () => frames.splice(0).forEach((f) => f());

  function open(place: 'front' | 'beside' | 'hidden'): PacedChannel {
    const channel = new PacedChannel('ws://127.0.0.1/vnc', place, (cb) => frames.push(cb), () => 1920 * 1080); // a full-HD frame
    channel.admit(); // the viewer's guards are installed (viewerSession.ts)
    // noVNC's part: every message is decoded at once, and its pixels drawn.
    channel.onmessage = (e) => {
      delivered++;
      channel.drew(pixelsOf(e.data.byteLength));
    };
    return channel;
  }

  beforeEach(() => {
    frames = [];
    delivered = 0;
    pixelsOf = (bytes) => bytes / 4;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    (globalThis as { WebSocketStream?: unknown }).WebSocketStream = FakeStream;
  });
  afterEach(() => {
    vi.useRealTimers();
    delete (globalThis as { WebSocketStream?: unknown }).WebSocketStream;
  });

  it('in front, reads one frame budget of pixels per animation frame, however much waits', async () => {
    const channel = open('front');
    channel.connected();
    await settle();
    FakeStream.last.flood(40);
    await settle();
    expect(delivered).toBe(4);
    nextFrame();
    await settle();
    expect(delivered).toBe(8);
  });

  it('in front, a whole screen of compressed rectangles in one frame, at 1920×1080 too', async () => {
    const channel = open('front');
    channel.connected();
    channel.setScreen(1920, 1080);
    await settle();
    pixelsOf = (bytes) => bytes * 3;
    FakeStream.last.compressed(40, 1920 * 1080 / 4); // a full-screen scroll step in four rectangles, ten times over
    await settle();
    expect(delivered).toBe(5); // the four of the first step, and one that is already past the budget
    expect(workPerFrame('front', 1920 * 1080)).toBeGreaterThan(1920 * 1080 * (1 + 1 / 3));
  });

  it('in front, a Raw flood at 1920×1080 still draws under half its screen per frame', async () => {
    const channel = open('front');
    channel.connected();
    channel.setScreen(1920, 1080);
    await settle();
    FakeStream.last.flood(400);
    await settle();
    expect(delivered * MESSAGE_PIXELS).toBeLessThan((1920 * 1080) / 2);
    nextFrame();
    await settle();
    expect(delivered * MESSAGE_PIXELS).toBeLessThan(1920 * 1080);
  });

  it('a cage announcing a huge screen gets no larger budget than its frame shows', async () => {
    const shown = 1280 * 800;
    const channel = new PacedChannel('ws://127.0.0.1/vnc', 'front', (cb) => frames.push(cb), () => shown);
    channel.onmessage = (e) => {
      delivered++;
      channel.drew(pixelsOf(e.data.byteLength));
    };
    channel.connected();
    channel.setScreen(8192, 8192); // the largest a policy allows, which the cage can set itself
    await settle();
    FakeStream.last.flood(4000);
    await settle();
    // Raw costs five per pixel: at most the budget of a 1280×800 screen (1.5× its pixels), a fifth of it in pixels.
    expect(delivered * MESSAGE_PIXELS).toBeLessThanOrEqual((1.5 * shown) / 5 + MESSAGE_PIXELS);
  });

  it('beside the front one, an eighth of that', async () => {
    const channel = open('beside');
    channel.connected();
    await settle();
    FakeStream.last.flood(40);
    await settle();
    expect(delivered).toBe(1); // one message of a quarter of the front budget is already past it
    nextFrame();
    await settle();
    expect(delivered).toBe(2);
  });

  it('hidden, reads its handshake, then nothing once connected; shown, it reads once the frame that shows it is drawn', async () => {
    const channel = open('hidden');
    await settle();
    FakeStream.last.flood(1); // ServerInit and the like, before the connection is up
    await settle();
    expect(delivered).toBe(1);
    channel.connected();
    nextFrame();
    await settle();
    FakeStream.last.flood(40);
    await settle();
    for (let i = 0; i < 5; i++) {
      nextFrame();
      vi.advanceTimersByTime(1000);
    }
    await settle();
    expect(delivered).toBe(1); // the handshake only
    channel.setPlace('front');
    await settle();
    expect(delivered).toBe(1); // the frame that shows it is drawn first, with the canvas it had
    nextFrame();
    vi.advanceTimersByTime(0); // the task after that frame
    await settle();
    expect(delivered).toBe(5); // then a front budget (four Raw messages) at once
  });

  it('shown again, reads after the frame that shows it, or after the fallback if no frame comes', async () => {
    const channel = open('front');
    channel.connected();
    await settle();
    channel.setPlace('hidden');
    FakeStream.last.flood(40);
    await settle();
    channel.setPlace('front');
    await settle();
    expect(delivered).toBe(0);
    vi.advanceTimersByTime(99);
    await settle();
    expect(delivered).toBe(0);
    vi.advanceTimersByTime(1); // no frame came within 100 ms: it reads all the same
    await settle();
    expect(delivered).toBe(4);
    // Shown, hidden and shown again: the first reveal's fallback does not end the second's hold.
    channel.setPlace('hidden');
    frames.splice(0); // the first reading's frame request, never answered while hidden
    vi.advanceTimersByTime(200);
    channel.setPlace('front');
    vi.advanceTimersByTime(50);
    channel.setPlace('hidden');
    channel.setPlace('front');
    vi.advanceTimersByTime(60); // the first reveal's fallback is past, the second's is not
    await settle();
    expect(delivered).toBe(4);
    nextFrame();
    vi.advanceTimersByTime(0);
    await settle();
    expect(delivered).toBe(8);
  });

  it('leaving the front, decodes nothing more, not even the message its read was waiting for', async () => {
    const channel = open('front');
    channel.connected();
    await settle(); // in front, budget left: the reading loop waits for the cage's next message
    channel.setPlace('hidden'); // the switch away from this cage
    FakeStream.last.flood(40);
    await settle();
    expect(delivered).toBe(0);
    channel.setPlace('front'); // back in front: what waited is decoded after the frame that shows it
    nextFrame();
    vi.advanceTimersByTime(0);
    await settle();
    expect(delivered).toBe(4);
  });

  it('a frame that never comes (hidden between request and frame) does not stop the reading', async () => {
    const channel = open('front');
    channel.connected();
    await settle();
    FakeStream.last.flood(40);
    await settle();
    expect(delivered).toBe(4);
    vi.advanceTimersByTime(100);
    await settle();
    expect(delivered).toBe(8);
  });

  it('closed while connecting, never says it opened, and closes its stream', async () => {
    const channel = open('front');
    let opened = 0;
    channel.onopen = () => opened++;
    channel.close(); // noVNC gives up before the connection is up (a refused ticket, a new one)
    await settle();
    vi.advanceTimersByTime(0);
    await settle();
    expect(opened).toBe(0);
    expect(channel.readyState).not.toBe(1); // not OPEN
    expect(FakeStream.last.closes).toBe(1);
  });

  it('hands on nothing read after close(), not even the message its read was waiting for', async () => {
    const channel = open('front');
    channel.connected();
    await settle(); // the reading loop now waits for the cage's next message
    channel.close();
    FakeStream.last.flood(1); // it arrives before the stream is closed on its own task
    await settle();
    expect(delivered).toBe(0);
  });

  it('hidden from its start, a flood from its start: reads and draws one screen of its first frame, then nothing', async () => {
    const channel = open('hidden');
    await settle();
    FakeStream.last.flood(1); // the handshake
    await settle();
    channel.connected(1024 * 640); // ServerInit: a 1024×640 screen, ten Raw messages of 64 Ki pixels
    FakeStream.last.flood(40);
    await settle();
    for (let i = 0; i < 5; i++) {
      nextFrame();
      vi.advanceTimersByTime(1000);
    }
    await settle();
    expect(delivered).toBe(1 + 10); // the handshake, then one screen: its pixels drawn, no more
    channel.setPlace('front');
    nextFrame();
    vi.advanceTimersByTime(0);
    await settle();
    expect(delivered).toBe(11 + 4); // shown: a front budget a frame, as any viewer
    channel.setPlace('hidden'); // hidden again: nothing, its one screen was owed once
    FakeStream.last.flood(40);
    await settle();
    vi.advanceTimersByTime(5000);
    await settle();
    expect(delivered).toBe(15);
  });

  it('hidden from its start: fills that draw a screen in a few bytes end its first screen as soon', async () => {
    pixelsOf = () => 1024 * 640; // each message a whole-screen fill
    const channel = open('hidden');
    channel.connected(1024 * 640);
    await settle();
    FakeStream.last.compressed(40, 300);
    await settle();
    vi.advanceTimersByTime(5000);
    await settle();
    expect(delivered).toBe(1);
  });

  it('hidden from its start: a message larger than the bytes left of its screen waits, unread, until shown', async () => {
    const channel = open('hidden');
    channel.connected(256 * 256); // 256 Ki bytes of Raw + 64 Ki of headers at most
    await settle();
    FakeStream.last.source.enqueue(new ArrayBuffer(512 * 1024));
    await settle();
    vi.advanceTimersByTime(5000);
    await settle();
    expect(delivered).toBe(0);
    channel.setPlace('front');
    nextFrame();
    vi.advanceTimersByTime(0);
    await settle();
    expect(delivered).toBe(1);
  });

  it('shown at its start (in front), owes no first screen once hidden', async () => {
    const channel = open('front');
    channel.connected(1024 * 640);
    await settle();
    channel.setPlace('hidden');
    FakeStream.last.flood(40);
    await settle();
    vi.advanceTimersByTime(5000);
    await settle();
    expect(delivered).toBe(0);
  });

  it('before admit(), opens to noVNC and hands on nothing, whatever waits; admitted, what waited in order', async () => {
    const channel = new PacedChannel('ws://127.0.0.1/vnc', 'hidden', (cb) => frames.push(cb), () => 1920 * 1080);
    const seen: string[] = [];
    channel.onopen = () => seen.push('open');
    channel.onmessage = (e) => seen.push(`message ${e.data.byteLength}`);
    await settle();
    FakeStream.last.source.enqueue(new ArrayBuffer(12));
    FakeStream.last.source.enqueue(new ArrayBuffer(28));
    await settle();
    vi.advanceTimersByTime(5000);
    await settle();
    expect(channel.readyState).toBe(0); // CONNECTING: noVNC waits for its open
    expect(seen).toEqual([]);
    channel.admit();
    await settle();
    expect(seen).toEqual(['open', 'message 12', 'message 28']);
  });

  it('closed before admit(), its stream is closed and noVNC told nothing', async () => {
    const channel = new PacedChannel('ws://127.0.0.1/vnc', 'hidden', (cb) => frames.push(cb), () => 1920 * 1080);
    const seen: string[] = [];
    channel.onopen = () => seen.push('open');
    channel.onmessage = () => seen.push('message');
    await settle();
    FakeStream.last.source.enqueue(new ArrayBuffer(12));
    channel.close();
    vi.advanceTimersByTime(0);
    await settle();
    expect(FakeStream.last.closes).toBe(1);
    expect(seen).toEqual([]);
  });

  it('sends a copy of what noVNC hands it (noVNC reuses its send buffer)', async () => {
    const channel = open('front');
    await settle();
    const buffer = new Uint8Array([1, 2, 3]);
    channel.send(buffer);
    buffer.fill(0);
    await settle();
    expect([...FakeStream.last.sent[0]!]).toEqual([1, 2, 3]);
  });
});
