/**
 * A control for the gateway benchmark: the barest Node relay (ws ↔ Unix socket, no tickets, no
 * RFB filter, no back-pressure), in its own process. What it adds over a direct socket is what
 * Node and `ws` cost, whatever the gateway does on top.
 *
 *   node --import tsx bench/lib/bareNodeRelayProcess.ts SOCKET_PATH   → prints the port
 */
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const socketPath = process.argv[2];
if (!socketPath) throw new Error('usage: bareNodeRelayProcess.ts SOCKET_PATH');
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const server = createServer();
server.on('upgrade', (req, sock, head) =>
  wss.handleUpgrade(req, sock, head, (ws) => {
    const cage = connect({ path: socketPath });
    cage.on('data', (d) => ws.send(d));
    cage.on('error', () => ws.terminate());
    ws.on('message', (d: Buffer) => cage.write(d));
    ws.on('close', () => cage.destroy());
  }),
);
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => process.exit(0));
