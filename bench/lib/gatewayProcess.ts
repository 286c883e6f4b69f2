/**
 * Cloison's VNC gateway alone in its own process, in front of one endpoint, so a benchmark can
 * measure its CPU the way it measures websockify's. GET /ticket issues a ticket (bench only). No
 * per-viewer byte budget: this measures the proxy's own capacity (the budget is measured by the
 * level-switch benchmark's flood).
 *
 * With WARM_UP=first it warms its hot path as the supervisor does after start-up
 * (gatewayWarmUp.ts) before it prints its port; with WARM_UP=beside it prints its port at once
 * and warms up while the first viewer is served.
 *
 *   node --import tsx bench/lib/gatewayProcess.ts SOCKET_PATH   → prints the port
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { FocusState } from '../../supervisor/gateway/focusState';
import { GATEWAY_WARM_UP_ROUNDS, warmUpGateway } from '../../supervisor/gateway/gatewayWarmUp';
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
server.listen(0, '127.0.0.1', async () => {
  const warmUp = () => warmUpGateway({ rounds: GATEWAY_WARM_UP_ROUNDS, parentDir: tmpdir(), gateway });
  if (process.env.WARM_UP === 'first') await warmUp();
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
  if (process.env.WARM_UP === 'beside') await warmUp();
});
process.on('SIGTERM', () => process.exit(0)); // exit cleanly (flushes --cpu-prof output)
