// @vitest-environment jsdom
/**
 * Attack (handshake-12): a cage's VNC server that writes its whole handshake — version, security
 * None, SecurityResult, ServerInit — and its first screen as the connection opens, without waiting
 * for the viewer. The gateway hands that on as it comes: one message. noVNC 1.7 read the version out
 * of it, answered, and stopped; the rest waited for a message that never came, the viewer
 * "connecting" for ever (e2e/unaskedHandshake.attack.spec.ts shows it in the real shell).
 *
 * What must happen: bytes that are valid RFB, only early, are read as if the server had waited —
 * however they are cut into messages — and the viewer connects and reads the screen that came with
 * them; a wrong version is still refused. Run on the real viewer page (viewerMain.ts,
 * viewerSession.ts), real noVNC 1.7 and real guards; only the WebSocketStream (the gateway) and the
 * canvas's 2D context are ours. What the viewer writes back says how far it got: its version,
 * security type and ClientInit, then SetPixelFormat, SetEncodings and a FramebufferUpdateRequest
 * once it read ServerInit (connected), and one more request once it read the first update.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { provideImageData } from './testing/nodeImageData';
import { fromShell as shellSays, settle, stubViewerPage } from './testing/viewerPageStub';

const SHELL = 'http://shell.test';
const TICKET_URL = 'ws://127.0.0.1:9/vnc?level=high&ticket=t';

function serverInit(width: number, height: number, name: string): Uint8Array {
  const bytes = new TextEncoder().encode(name);
  const init = new Uint8Array(24 + bytes.length);
  const view = new DataView(init.buffer);
  view.setUint16(0, width);
  view.setUint16(2, height);
  init.set([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0], 4);
  view.setUint32(20, bytes.length);
  init.set(bytes, 24);
  return init;
}

/** A FramebufferUpdate of one Tight fill rectangle over the whole 800 × 600 screen. */
const FILL_UPDATE = [0, 0, 0, 1, 0, 0, 0, 0, 3, 32, 2, 88, 0, 0, 0, 7, 0x80, 0x80, 0x10, 0x10];

/** What an unasking server writes as the connection opens: its whole handshake, then its first screen. */
function everythingAtOnce(version = 'RFB 003.008\n'): Uint8Array {
  return new Uint8Array([...new TextEncoder().encode(version), 1, 1, 0, 0, 0, 0, ...serverInit(800, 600, 'high'), ...FILL_UPDATE]);
}

/** The gateway, as the viewer's WebSocketStream sees it: what it is sent, and how it is closed. */
class GatewayStream {
  static last: GatewayStream | null = null;
  source!: ReadableStreamDefaultController<ArrayBuffer>;
  written: Uint8Array[] = [];
  closes = 0;
  readonly opened: Promise<unknown>;
  readonly closed = new Promise<{ closeCode: number; reason: string }>(() => undefined);
  constructor(readonly url: string) {
    GatewayStream.last = this;
    const readable = new ReadableStream<ArrayBuffer>({ start: (c) => void (this.source = c) });
    const writable = new WritableStream<Uint8Array>({ write: (chunk) => void this.written.push(chunk) });
    this.opened = Promise.resolve({ readable, writable, protocol: '' });
  }
  close(): void {
    this.closes++;
  }
  /** The viewer's messages, by their first bytes: its version, then one byte each, then RFB client messages by type. */
  said(): string[] {
    return this.written.map((m) => (m.length === 12 ? 'version' : m.length === 1 ? `byte ${m[0]}` : `type ${m[0]}`));
  }
}

const fromShell = (data: unknown) => shellSays(SHELL, data);

/** Opens a new connection (a new ticket) and sends it `messages`, as the gateway would hand them on. */
async function connectionSending(messages: Uint8Array[]): Promise<GatewayStream> {
  const before = GatewayStream.last;
  fromShell({ type: 'open', url: TICKET_URL });
  await vi.waitFor(() => expect(GatewayStream.last).not.toBe(before), { timeout: 10_000 });
  const gateway = GatewayStream.last!;
  await settle();
  for (const m of messages) {
    gateway.source.enqueue(m.slice().buffer);
    await settle();
  }
  return gateway;
}

/** Connected and its first screen read: ServerInit answered, then one more update asked for. */
const CONNECTED_AND_SCREEN_READ = ['version', 'byte 1', 'byte 1', 'type 0', 'type 2', 'type 3', 'type 3'];

beforeAll(async () => {
  provideImageData();
  stubViewerPage(SHELL, GatewayStream);
  await import('./viewerMain');
  fromShell({ type: 'place', place: 'front' });
});

describe('a server that does not wait for its viewer', () => {
  it('everything in one message: the viewer connects and reads the screen that came with it', async () => {
    const gateway = await connectionSending([everythingAtOnce()]);
    await vi.waitFor(() => expect(gateway.said()).toEqual(CONNECTED_AND_SCREEN_READ), { timeout: 10_000 });
    expect(gateway.closes).toBe(0);
  });

  it('cut oddly: the version and one byte more, then the rest', async () => {
    const all = everythingAtOnce();
    const gateway = await connectionSending([all.subarray(0, 13), all.subarray(13)]);
    await vi.waitFor(() => expect(gateway.said()).toEqual(CONNECTED_AND_SCREEN_READ), { timeout: 5_000 });
  });

  it('cut oddly: ServerInit and the update together, the rest before', async () => {
    const all = everythingAtOnce();
    const gateway = await connectionSending([all.subarray(0, 5), all.subarray(5, 18), all.subarray(18)]);
    await vi.waitFor(() => expect(gateway.said()).toEqual(CONNECTED_AND_SCREEN_READ), { timeout: 5_000 });
  });

  it('one byte a message: as before, connected', async () => {
    const all = everythingAtOnce();
    const gateway = await connectionSending([...all].map((b) => new Uint8Array([b])));
    await vi.waitFor(() => expect(gateway.said()).toEqual(CONNECTED_AND_SCREEN_READ), { timeout: 5_000 });
  });

  it('a wrong version first, the rest with it: refused, nothing answered', async () => {
    const gateway = await connectionSending([everythingAtOnce('RFB 009.000\n')]);
    await vi.waitFor(() => expect(gateway.closes).toBe(1), { timeout: 10_000 });
    expect(gateway.said()).toEqual([]);
  });
});
