// @vitest-environment jsdom
/**
 * Attack (a hostile cage's first bytes, while its viewer still loads noVNC): the viewer says
 * `ready` before noVNC is loaded (viewerMain.ts), so the trusted page hands it its ticket and the
 * connection to the gateway opens while noVNC's modules are still fetched and compiled. The cage
 * answers at once with a framebuffer no policy allows (65 535 × 65 535: 16 GiB of canvas), all
 * in the gateway's first message. Were any byte of it handed on before the guards are installed
 * (framebufferGuard.ts among them), noVNC would size its canvas to it; read before noVNC exists,
 * it would be lost and the connection hang.
 *
 * What must happen: nothing of it is read while noVNC loads; once loaded, every guard is installed
 * before the first byte reaches noVNC, and the framebuffer guard refuses it (the connection ends).
 * Run on the real viewer page (viewerMain.ts, viewerSession.ts), real noVNC 1.7 and real guards;
 * only the WebSocketStream (the gateway), the canvas's 2D context and the module load's moment are ours.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { fromShell as shellSays, settle, stubViewerPage } from './testing/viewerPageStub';

const log: string[] = [];
/** Held until the test lets noVNC "finish loading". */
const loading = vi.hoisted(() => {
  let done!: () => void;
  const loaded = new Promise<void>((resolve) => (done = resolve));
  return { loaded, done };
});

vi.mock('./viewerSession', async (importOriginal) => {
  await loading.loaded;
  log.push('noVNC loaded');
  return importOriginal();
});

const SHELL = 'http://shell.test';
const TICKET_URL = 'ws://127.0.0.1:9/vnc?level=high&ticket=t';

/** RFB 3.8, security None, then a ServerInit of 65 535 × 65 535: the messages the gateway forwards. */
function hostileFirstMessages(): ArrayBuffer[] {
  const name = new TextEncoder().encode('high');
  const init = new Uint8Array(24 + name.length);
  const view = new DataView(init.buffer);
  view.setUint16(0, 65535);
  view.setUint16(2, 65535);
  init.set([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0], 4); // 32 bpp, depth 24, little-endian, true colour
  view.setUint32(20, name.length);
  init.set(name, 24);
  return [new TextEncoder().encode('RFB 003.008\n'), new Uint8Array([1, 1]), new Uint8Array([0, 0, 0, 0]), init].map((m) => m.slice().buffer);
}

/** The gateway, as the viewer's WebSocketStream sees it: the handshake done at once, each read logged. */
class GatewayStream {
  static last: GatewayStream | null = null;
  source!: ReadableStreamDefaultController<ArrayBuffer>;
  closes = 0;
  readonly opened: Promise<unknown>;
  readonly closed = new Promise<{ closeCode: number; reason: string }>(() => undefined);
  constructor(readonly url: string) {
    GatewayStream.last = this;
    log.push('connection opened (ticket spent)');
    const inner = new ReadableStream<ArrayBuffer>({ start: (c) => void (this.source = c) });
    const readable = {
      getReader: () => {
        const reader = inner.getReader();
        return {
          read: async () => {
            const got = await reader.read();
            if (!got.done) log.push(`gateway message read (${got.value.byteLength} bytes)`);
            return got;
          },
          cancel: () => reader.cancel(),
        };
      },
    };
    const writable = new WritableStream<Uint8Array>({ write: () => undefined });
    this.opened = Promise.resolve({ readable, writable, protocol: '' });
  }
  close(): void {
    this.closes++;
  }
}

const fromShell = (data: unknown) => shellSays(SHELL, data);

/** What noVNC's display sized its canvas to: the attack's 65 535 if it got through. */
const canvasSizes: string[] = [];

beforeAll(() => {
  stubViewerPage(SHELL, GatewayStream);
  const width = Object.getOwnPropertyDescriptor(HTMLCanvasElement.prototype, 'width')!;
  Object.defineProperty(HTMLCanvasElement.prototype, 'width', {
    configurable: true,
    get: width.get,
    set(this: HTMLCanvasElement, v: number) {
      if (v > 8192) canvasSizes.push(String(v));
      width.set!.call(this, v);
    },
  });
});
afterAll(() => {
  delete (globalThis as { WebSocketStream?: unknown }).WebSocketStream;
});

it('a hostile first message while noVNC loads is read only behind the guards, and refused', async () => {
  await import('./viewerMain');
  fromShell({ type: 'place', place: 'hidden' });
  fromShell({ type: 'open', url: TICKET_URL });
  await settle();
  // The ticket is spent and the gateway has answered: the cage's hostile first messages wait, unread.
  for (const message of hostileFirstMessages()) GatewayStream.last!.source.enqueue(message);
  await settle();
  expect(log).toEqual(['connection opened (ticket spent)']);

  loading.done();
  await vi.waitFor(() => expect(log).toHaveLength(6), { timeout: 10_000 });
  await settle();
  expect(log).toEqual(['connection opened (ticket spent)', 'noVNC loaded', ...[12, 2, 4, 28].map((n) => `gateway message read (${n} bytes)`)]);
  expect(canvasSizes, 'the canvas sized to the hostile framebuffer').toEqual([]);
  expect(GatewayStream.last!.closes, 'the connection ended by the framebuffer guard').toBe(1);
});
