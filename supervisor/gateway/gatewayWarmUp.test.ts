/**
 * The gateway's warm-up: it runs its round trips through a private twin and leaves no trace in the
 * real gateway (no viewer, no journal record, no socket left behind), and it gives way while a
 * real viewer is in use.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FileAuditJournal } from '../audit/auditJournal';
import { FocusState } from './focusState';
import { listenEchoEndpoint, scheduleGatewayWarmUp, warmUpGateway } from './gatewayWarmUp';
import { TicketRegistry } from './ticketRegistry';
import { VNC_PATH, VncGateway, type ViewerInfo } from './vncGateway';

describe('gateway warm-up', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** The supervisor's gateway, its journal and its run folder; its cage "low" listens at cagePath. */
  function realGateway() {
    const dir = mkdtempSync(join(tmpdir(), 'cloison-warm-'));
    const cagePath = join(dir, 'cage.sock');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const journalPath = join(dir, 'audit.jsonl');
    const journal = new FileAuditJournal(journalPath);
    cleanups.push(() => journal.close());
    const viewerChanges: ViewerInfo[][] = [];
    const tickets = new TicketRegistry();
    const gateway = new VncGateway({
      tickets,
      focus: new FocusState(['low'], 'low'),
      endpointOf: () => ({ path: cagePath }),
      journal,
      onViewers: (viewers) => viewerChanges.push(viewers),
    });
    cleanups.push(() => gateway.close());
    return { dir, cagePath, gateway, tickets, journalPath, viewerChanges };
  }

  it('makes its round trips through a private twin, and nothing of it stays in the real gateway', async () => {
    const real = realGateway();
    const done = await warmUpGateway({ rounds: 2500, parentDir: real.dir, gateway: real.gateway });
    expect(done.rounds).toBe(2500);
    expect(real.gateway.viewers()).toEqual([]);
    expect(real.viewerChanges).toEqual([]);
    expect(readFileSync(real.journalPath, 'utf8')).not.toContain('vnc.');
    // Its endpoint's folder is gone with it.
    expect(readdirSync(real.dir).filter((name) => name.startsWith('gateway-warm-up-'))).toEqual([]);
  });

  it('waits while a real viewer sends, and goes on once it is quiet', async () => {
    // A real viewer of a real (echoing) cage endpoint, through the real gateway.
    const busy = realGateway();
    const cage: Server = await listenEchoEndpoint(busy.cagePath);
    cleanups.push(() => new Promise((r) => cage.close(r)));
    const http: HttpServer = createServer((_req, res) => res.writeHead(404).end());
    http.on('upgrade', (req, socket, head) => busy.gateway.handleUpgrade(req, socket, head));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => http.close(r)));
    const viewer = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}${VNC_PATH}?level=low&ticket=${busy.tickets.issue('low')}`);
    cleanups.push(() => viewer.terminate());
    await new Promise((r) => viewer.once('open', r));
    // The user moves the mouse in the cage: a pointer event every 50 ms (the handshake's bytes first).
    viewer.send(Buffer.from('RFB 003.008\n'));
    viewer.send(Buffer.from([1]));
    viewer.send(Buffer.from([1]));
    const moving = setInterval(() => viewer.send(Buffer.from([5, 0, 0, 20, 0, 20])), 50);
    cleanups.push(() => clearInterval(moving));

    const whileInUse = new AbortController();
    setTimeout(() => whileInUse.abort(), 800);
    const during = await warmUpGateway({ rounds: 100_000, parentDir: busy.dir, gateway: busy.gateway, signal: whileInUse.signal });
    expect(during.rounds).toBe(0);

    clearInterval(moving);
    const once = new AbortController();
    setTimeout(() => once.abort(), 800);
    const after = await warmUpGateway({ rounds: 100_000, parentDir: busy.dir, gateway: busy.gateway, signal: once.signal });
    expect(after.rounds).toBeGreaterThan(0);
  });

  it('scheduled, starts only once the machine is quiet (the cages\' applications starting are not slowed by it)', async () => {
    const real = realGateway();
    const logged: Array<{ msg: string; at: number; fields?: Record<string, unknown> }> = [];
    const t0 = Date.now();
    // The cores busy (90 %) for the first ten windows of 30 ms, then quiet (10 %).
    let reads = 0;
    let at = { busy: 0, total: 0 };
    const read = () => {
      const busy = reads++ < 10 ? 27 : 3;
      at = { busy: at.busy + busy, total: at.total + 30 };
      return at;
    };
    const warming = scheduleGatewayWarmUp({ rounds: 300, afterMs: 0, parentDir: real.dir, gateway: real.gateway, quiet: { busyShare: 0.5, windowMs: 30, maxWaitMs: 10_000, read }, log: (msg, fields) => logged.push({ msg, at: Date.now() - t0, ...(fields ? { fields } : {}) }) });
    cleanups.push(() => warming.stop());
    await new Promise((r) => setTimeout(r, 150));
    expect(logged).toEqual([]); // still busy: no round trip yet
    for (const deadline = Date.now() + 10_000; !logged.some((l) => l.msg === 'gateway warmed up') && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    const starting = logged.find((l) => l.msg === 'gateway warm-up starting');
    expect(starting?.fields).toMatchObject({ quiet: true });
    expect(starting!.at).toBeGreaterThanOrEqual(270);
    expect(logged.find((l) => l.msg === 'gateway warmed up')?.fields).toMatchObject({ rounds: 300 });
  });
});
