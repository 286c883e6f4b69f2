/**
 * Cloison's VNC gateway alone in its own process, in front of one endpoint, so a benchmark can
 * measure its CPU the way it measures websockify's. GET /ticket issues a ticket (bench only). No
 * per-viewer byte budget: this measures the proxy's own capacity (the budget is measured by the
 * level-switch benchmark's flood).
 *
 *   node --import tsx bench/lib/gatewayProcess.ts SOCKET_PATH   → prints the port
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FocusState } from '../../supervisor/focusState';
import { TicketRegistry } from '../../supervisor/gateway/ticketRegistry';
import { VncGateway } from '../../supervisor/gateway/vncGateway';

const socketPath = process.argv[2];
if (!socketPath) throw new Error('usage: gatewayProcess.ts SOCKET_PATH');
const tickets = new TicketRegistry();
const gateway = new VncGateway({ tickets, focus: new FocusState(['bench'], 'bench'), endpointOf: () => ({ path: socketPath }), viewerBudget: null });
const server = createServer((req, res) => {
  if (req.url === '/ticket') res.end(tickets.issue('bench'));
  else res.writeHead(404).end();
});
server.on('upgrade', (req, sock, head) => gateway.handleUpgrade(req, sock, head));
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => process.exit(0)); // exit cleanly (flushes --cpu-prof output)
