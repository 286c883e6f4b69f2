/**
 * A cage that floods its viewer (unsolicited full-screen Raw updates as fast as its socket takes
 * them) is held to the viewer's byte budget: the gateway stops reading the cage until the budget
 * refills, so the flood cannot take the cores the trusted shell needs. A viewer whose cage is not
 * in front gets a far smaller budget, and the larger one again as soon as its cage comes to front.
 * The flood is a real RFB server on a Unix socket, the viewer a real WebSocket client through the
 * real gateway.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FocusState } from './focusState';
import { startFloodingVncServer } from '../testing/floodingVncServer';
import { TicketRegistry } from './ticketRegistry';
import { VncGateway } from './vncGateway';

const BUDGET = 8 * 2 ** 20; // bytes per second
const BURST = 2 * 2 ** 20;
const BACK = { bytesPerSecond: 2 ** 20, burstBytes: 256 * 2 ** 10 };
const MEASURE_MS = 2000;
/** One read past the budget at most (256 KiB). */
const ONE_READ = 256 * 1024;
/**
 * Well above anything the back budget lets through in MEASURE_MS (2.3 MiB), well below the front
 * one (18 MiB): a test machine under load reads the flood slower than the budget allows.
 */
const NOT_STARVED = 2 * (BACK.bytesPerSecond * (MEASURE_MS / 1000) + BACK.burstBytes + ONE_READ);

describe('per-viewer byte budget (a flooding cage)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-budget-'));
  const socket = join(dir, 'vnc.sock');
  let flood: { close(): Promise<void> };
  let server: Server;
  let gateway: VncGateway;
  const tickets = new TicketRegistry();
  const focus = new FocusState(['low', 'high'], 'high');

  beforeAll(async () => {
    flood = await startFloodingVncServer(socket);
    gateway = new VncGateway({ tickets, focus, endpointOf: () => ({ path: socket }), viewerBudget: { bytesPerSecond: BUDGET, burstBytes: BURST }, backViewerBudget: BACK });
    server = createServer((_req, res) => res.writeHead(404).end());
    server.on('upgrade', (req, sock, head) => gateway.handleUpgrade(req, sock, head));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    gateway?.close();
    server?.close();
    await flood?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A viewer of `level` through the gateway, past the handshake, with the flood running; counts what it receives. */
  async function floodedViewer(level: string): Promise<{ received(): number; close(): void }> {
    const ticket = tickets.issue(level, 'test-session');
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/vnc?level=${level}&ticket=${ticket}`);
    let received = 0;
    let stage = 0;
    let flooding = false;
    ws.on('message', (d: Buffer) => {
      received += d.length;
      // The handshake, one answer per server message: version, security None, shared ClientInit.
      if (stage === 0) ws.send(Buffer.from('RFB 003.008\n'));
      else if (stage === 1) ws.send(Buffer.from([1]));
      else if (stage === 2) ws.send(Buffer.from([1]));
      else flooding = true;
      stage++;
    });
    await new Promise((r, j) => (ws.on('open', r), ws.on('error', j)));
    await new Promise<void>((resolve) => {
      const wait = setInterval(() => flooding && (clearInterval(wait), resolve()), 10);
    });
    return { received: () => received, close: () => ws.terminate() };
  }
  /** Bytes `viewer` receives over MEASURE_MS. */
  async function receivedOver(viewer: { received(): number }): Promise<number> {
    const before = viewer.received();
    await new Promise((r) => setTimeout(r, MEASURE_MS));
    return viewer.received() - before;
  }

  it('receives no more than the budget allows, however fast the cage sends', async () => {
    focus.set('high');
    const viewer = await floodedViewer('high');
    const received = await receivedOver(viewer);
    viewer.close();
    // About 18 MiB in 2 s here, where the same flood moves several times that with no budget.
    expect(received).toBeGreaterThan(NOT_STARVED); // the cage is read, not starved
    expect(received).toBeLessThanOrEqual(BUDGET * (MEASURE_MS / 1000) + BURST + ONE_READ);
  });

  it('a viewer whose cage is not in front gets the small budget, and the large one again once in front', async () => {
    focus.set('high');
    const viewer = await floodedViewer('low');
    const behind = await receivedOver(viewer);
    expect(behind).toBeGreaterThan(BACK.bytesPerSecond); // still shown (split view), slowly
    expect(behind).toBeLessThanOrEqual(BACK.bytesPerSecond * (MEASURE_MS / 1000) + BACK.burstBytes + ONE_READ);
    focus.set('low');
    const inFront = await receivedOver(viewer);
    viewer.close();
    expect(inFront).toBeGreaterThan(NOT_STARVED);
    expect(inFront).toBeLessThanOrEqual(BUDGET * (MEASURE_MS / 1000) + BURST + ONE_READ);
  });
});
