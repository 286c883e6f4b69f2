/**
 * The browser part's entry point: the process that accepts browser connections (the shell's page,
 * its RPC WebSocket, each level's viewer origin, the VNC gateway). The root part starts it as its
 * child with an IPC channel (browserPart.ts); it reads what it needs (its code, the built
 * renderer), goes to its own folder, then drops to the `cloison` user for good (partRestriction.ts)
 * before it listens to anything. From then on everything it knows of tickets, shells and cages
 * comes over the channel: it decides nothing, and a cage's VNC connection reaches it as a
 * descriptor the root part connected and checked.
 *
 * Its environment holds its start (PART_START_ENV, JSON); it exits when the channel closes.
 */
import type { Socket } from 'node:net';
import { isSakRfbKey, type SakKey } from '../../shared/keysyms';
import { FocusState } from '../gateway/focusState';
import { scheduleGatewayWarmUp } from '../gateway/gatewayWarmUp';
import { TicketRegistry } from '../gateway/ticketRegistry';
import { VncGateway, type GatewayAdmission } from '../gateway/vncGateway';
import { startBrowserHost, type ShellRpcLink } from './browserHost';
import { PART_START_ENV, type PartStart, type PartToRoot, type RootToPart } from './partMessages';
import { restrictBrowserPart } from './partRestriction';
import { readStaticFiles } from './staticFiles';

const log = (msg: string, fields?: Record<string, unknown>) => process.stderr.write(`cloison browser part: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`);

function send(message: PartToRoot, handle?: Socket): void {
  if (process.connected) process.send!(message, handle as never);
}

async function main(): Promise<void> {
  const start = JSON.parse(process.env[PART_START_ENV] ?? 'null') as PartStart | null;
  if (!start || !process.send) throw new Error(`started without ${PART_START_ENV} or an IPC channel: the root part starts this`);
  delete process.env[PART_START_ENV];
  const files = start.rendererDir ? readStaticFiles(start.rendererDir) : null;
  process.chdir(start.partDir);
  restrictBrowserPart(start.account);

  const focus = new FocusState(start.levels, start.front);
  let sak: SakKey = start.sak;
  const pendingViewers = new Map<number, (admission: GatewayAdmission) => void>();
  const pendingShells = new Map<number, (conn: number | null) => void>();
  const shells = new Map<number, { send(text: string): void; close(code: number, reason: string): void }>();
  let nextRequest = 1;
  const keysSent = new Map<string, number>();
  let keysTimer: NodeJS.Immediate | null = null;

  const gateway = new VncGateway({
    tickets: new TicketRegistry(), // unused: admissions are the root part's (admit)
    focus,
    endpointOf: () => null,
    admit: (level, ticket) =>
      new Promise((resolve) => {
        const request = nextRequest++;
        pendingViewers.set(request, resolve);
        send({ type: 'vnc.open', request, level, ticket });
      }),
    reservedKey: (keysym, scancode) => isSakRfbKey(sak, keysym, scancode),
    onViewers: (viewers) => send({ type: 'viewers', viewers }),
    // Coalesced: a burst of keys is one message.
    onKeys: (level, total) => {
      keysSent.set(level, total);
      keysTimer ??= setImmediate(() => {
        keysTimer = null;
        for (const [l, t] of keysSent) send({ type: 'keys', level: l, total: t });
        keysSent.clear();
      });
    },
    log,
  });

  const rpc: ShellRpcLink = {
    admit: (offered) =>
      new Promise((resolve) => {
        const request = nextRequest++;
        pendingShells.set(request, resolve);
        send({ type: 'rpc.admit', request, ...offered });
      }),
    opened: (conn, ws) => {
      shells.set(conn, ws);
      send({ type: 'rpc.opened', conn });
    },
    frame: (conn, text) => send({ type: 'rpc.frame', conn, text }),
    closed: (conn) => {
      if (!shells.delete(conn)) return;
      send({ type: 'rpc.closed', conn });
    },
  };

  process.on('message', (message: RootToPart, handle?: unknown) => {
    switch (message.type) {
      case 'vnc.opened': {
        const resolve = pendingViewers.get(message.request);
        pendingViewers.delete(message.request);
        const { admission } = message;
        const full: GatewayAdmission = 'handle' in admission ? { session: admission.session, handle: handle as object } : admission;
        if (resolve) resolve(full);
        else (handle as { close?: () => void } | undefined)?.close?.();
        return;
      }
      case 'rpc.admitted':
        pendingShells.get(message.request)?.(message.conn);
        pendingShells.delete(message.request);
        return;
      case 'rpc.out':
        shells.get(message.conn)?.send(message.text);
        return;
      case 'rpc.close':
        shells.get(message.conn)?.close(message.code, message.reason);
        return;
      case 'focus':
        focus.setSuspended(message.suspended, 'lock');
        if (message.front !== focus.front) focus.set(message.front);
        return;
      case 'sak':
        sak = message.sak;
        return;
      case 'viewers.disconnect':
        gateway.disconnectAll(message.reason);
        return;
    }
  });
  // The root part gone, nothing of this one is of use: it ends (its sockets with it).
  process.on('disconnect', () => process.exit(0));

  const host = await startBrowserHost({
    files,
    shell: start.shell,
    rpc,
    levels: start.levels,
    gateway,
    port: start.port,
    viewerPorts: start.viewerPorts,
    extraOrigins: start.extraOrigins,
    log,
  });
  const viewerPorts = Object.fromEntries(Object.entries(host.viewerOrigins).map(([level, origin]) => [level, Number(new URL(origin).port)]));
  send({ type: 'listening', port: host.port, viewerPorts });
  if (start.warmUp) scheduleGatewayWarmUp({ ...start.warmUp, gateway, parentDir: '.', log });
}

main().catch((err: Error) => {
  send({ type: 'failed', error: err.message.slice(0, 2000) });
  log('could not start', { error: err.message });
  setTimeout(() => process.exit(1), 100);
});
