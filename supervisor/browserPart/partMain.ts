/**
 * The browser part's entry point: the process that accepts browser connections (the shell's page,
 * its RPC WebSocket, each level's viewer origin, the VNC gateway). The root part starts it as its
 * child with its channel (browserPart.ts, sandbox/partChannel.ts: no Node IPC); it reads what it
 * needs (its code, the built renderer), goes to its own folder, then drops to the `cloison` user for good (partRestriction.ts)
 * before it listens to anything; then it waits for the root part's first message (`listen`: the
 * levels, the front one, the secure-attention key, its ports), which may come later (spawned before
 * the policy is known, browserPartSpawn.ts). From then on everything it knows of tickets, shells and cages
 * comes over the channel: it decides nothing, and a cage's VNC connection reaches it as a
 * descriptor the root part connected and checked.
 *
 * Its environment holds its start (PART_START_ENV, JSON); it exits when the channel closes.
 */
import { closeSync } from 'node:fs';
import { isSakRfbKey, type SakKey } from '../../shared/keysyms';
import { FocusState } from '../gateway/focusState';
import { scheduleGatewayWarmUp } from '../gateway/gatewayWarmUp';
import { TicketRegistry } from '../gateway/ticketRegistry';
import { VncGateway, type GatewayAdmission } from '../gateway/vncGateway';
import { startBrowserHost, type ShellRpcLink } from './browserHost';
import { connectToRoot, handleOfDescriptor } from '../sandbox/partChannel';
import { PART_START_ENV, type ListenMessage, type PartStart, type PartToRoot, type RootToPart } from './partMessages';
import { restrictBrowserPart } from './partRestriction';
import { readStaticFiles } from './staticFiles';
import { trimMallocFromNowOn } from '../system/mallocTrim';

const log = (msg: string, fields?: Record<string, unknown>) => process.stderr.write(`cloison browser part: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`);

/** The root part's messages, kept until main() takes them (its `listen` first, then its handler the rest); the root part gone, this one ends. */
const waiting: Array<{ message: RootToPart; fd: number | null }> = [];
let wake: (() => void) | null = null;
let received = (message: RootToPart, fd: number | null): void => {
  waiting.push({ message, fd });
  wake?.();
};
const { send } = connectToRoot<PartToRoot, RootToPart>({ message: (m, fd) => received(m, fd), closed: () => process.exit(0) });

/** The root part's `listen`, its first message on the channel; anything before it (none is sent) is dropped. */
async function listenMessage(): Promise<ListenMessage> {
  for (;;) {
    const next = waiting.shift();
    if (next?.message.type === 'listen') return next.message;
    if (next) {
      if (next.fd !== null) closeSync(next.fd);
      continue;
    }
    await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
  }
}

async function main(): Promise<void> {
  trimMallocFromNowOn(); // its start's free heap pages given back (system/mallocTrim.ts)
  const start = JSON.parse(process.env[PART_START_ENV] ?? 'null') as PartStart | null;
  if (!start) throw new Error(`started without ${PART_START_ENV}: the root part starts this`);
  delete process.env[PART_START_ENV];
  const files = start.rendererDir ? readStaticFiles(start.rendererDir) : null;
  process.chdir(start.partDir);
  restrictBrowserPart(start.account);
  // Spawned early (browserPartSpawn.ts), it has read and restricted all it could before the policy is known.
  const order = await listenMessage();

  const focus = new FocusState(order.levels, order.front);
  let sak: SakKey = order.sak;
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

  received = (message, fd) => {
    switch (message.type) {
      case 'vnc.opened': {
        const resolve = pendingViewers.get(message.request);
        pendingViewers.delete(message.request);
        const { admission } = message;
        if (!resolve || !('handle' in admission)) {
          if (fd !== null) closeSync(fd);
          return resolve?.(admission as Exclude<typeof admission, { handle: true }>);
        }
        // Admitted but no descriptor came with it: the viewer is closed as refused.
        if (fd === null) return resolve({ session: admission.session, close: { code: 1011, reason: 'cage socket lost' } });
        resolve({ session: admission.session, handle: handleOfDescriptor(fd) });
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
      case 'listen':
        return; // once, first
    }
  };
  for (const { message, fd } of waiting.splice(0)) received(message, fd);

  const host = await startBrowserHost({
    files,
    shell: start.shell,
    rpc,
    maxRpcFrameBytes: start.maxRpcFrameBytes,
    levels: order.levels,
    gateway,
    port: order.port,
    viewerPorts: order.viewerPorts,
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
