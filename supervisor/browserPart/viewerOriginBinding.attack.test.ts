/**
 * The gateway is opened for a level from that level's viewer origin only (browserHost.ts,
 * viewerOriginsOf): a ticket of one level, handed to the other level's viewer frame (the shell
 * page's frames are made before it knows which level is whose: earlyViewerFrames.ts), is refused
 * at the upgrade, before the ticket is read. The real HTTP server, a stub gateway that records what
 * reached it. (The whole path, real Chromium and gateway: e2e/earlyFrames.attack.spec.ts.)
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { VncGateway } from '../gateway/vncGateway';
import { startBrowserHost, viewerOriginsOf, type BrowserHost } from './browserHost';

const hosts: BrowserHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close();
});

async function host(extraOrigins: string[] = []): Promise<{ host: BrowserHost; reached: string[] }> {
  const reached: string[] = [];
  const gateway = {
    handleUpgrade: (req: { url?: string; headers: { origin?: string } }, socket: { end(s: string): void }) => {
      reached.push(`${req.headers.origin} ${req.url}`);
      socket.end('HTTP/1.1 418 stub\r\nConnection: close\r\n\r\n');
    },
  } as unknown as VncGateway;
  const rpc = { admit: () => Promise.resolve(null), opened: () => undefined, frame: () => undefined, closed: () => undefined };
  const h = await startBrowserHost({ files: null, shell: true, rpc, maxRpcFrameBytes: 1 << 16, levels: ['low', 'high'], gateway, extraOrigins });
  hosts.push(h);
  return { host: h, reached };
}

/** The status an upgrade to the gateway for `level` from `origin` gets. */
function upgrade(h: BrowserHost, origin: string, query: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: h.port, path: `/vnc?${query}`, headers: { Connection: 'Upgrade', Upgrade: 'websocket', Origin: origin, 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', () => resolve(101));
    req.on('error', reject);
    req.end();
  });
}

describe('the gateway, opened from a viewer origin', () => {
  it("refuses one level's ticket from the other level's viewer origin, before the gateway reads it", async () => {
    const { host: h, reached } = await host();
    const { low, high } = h.viewerOrigins;
    expect(low).toBeDefined();
    expect(high).toBeDefined();
    expect(await upgrade(h, low!, 'level=high&ticket=t1')).toBe(403);
    expect(await upgrade(h, high!, 'level=low&ticket=t2')).toBe(403);
    // A second level= after its own: the gateway reads the first, as this check does.
    expect(await upgrade(h, low!, 'level=high&level=low&ticket=t3')).toBe(403);
    // No level, or one of no origin: no viewer origin may open it.
    expect(await upgrade(h, low!, 'ticket=t4')).toBe(403);
    expect(await upgrade(h, low!, 'level=__proto__&ticket=t5')).toBe(403);
    expect(reached).toEqual([]);
    // Its own level, and the shell page itself: on to the gateway.
    expect(await upgrade(h, high!, 'level=high&ticket=t6')).toBe(418);
    expect(await upgrade(h, low!, 'level=low&ticket=t7')).toBe(418);
    expect(await upgrade(h, h.origin, 'level=high&ticket=t8')).toBe(418);
    expect(reached).toEqual([`${high} /vnc?level=high&ticket=t6`, `${low} /vnc?level=low&ticket=t7`, `${h.origin} /vnc?level=high&ticket=t8`]);
  });

  it("Electron's viewers likewise: each app:// host opens its own level's cage only", async () => {
    const { host: h, reached } = await host(['app://cloison']);
    expect(await upgrade(h, 'app://viewer-low', 'level=high&ticket=t1')).toBe(403);
    expect(await upgrade(h, 'app://viewer-other', 'level=other&ticket=t2')).toBe(403);
    expect(await upgrade(h, 'app://viewer-high', 'level=high&ticket=t3')).toBe(418);
    expect(reached).toEqual(['app://viewer-high /vnc?level=high&ticket=t3']);
  });

  it('names the origins a level may open it from', () => {
    const origins = { low: 'http://127.0.0.10:1', high: 'http://127.0.0.11:1' };
    expect(viewerOriginsOf('low', origins, [])).toEqual(['http://127.0.0.10:1']);
    expect(viewerOriginsOf('low', origins, ['low', 'high'])).toEqual(['http://127.0.0.10:1', 'app://viewer-low']);
    expect(viewerOriginsOf('toString', origins, [])).toEqual([]);
    expect(viewerOriginsOf(null, origins, ['low'])).toEqual([]);
  });
});
