/**
 * Cloison's VNC gateway as the supervisor runs it since the split, in front of one endpoint, so a
 * benchmark can measure its CPU the way it measures websockify's: this process stands for the
 * root part (tickets, the connection to the endpoint, its hand-over as a descriptor:
 * browserPart/viewerAdmission.ts and handOver), its child for the browser part (restricted as the
 * part is, as `cloison` when run as root; the gateway reads the handed socket itself). The CPU of
 * both counts (the process tree). GET /ticket issues a ticket (bench only). No per-viewer byte
 * budget: this measures the proxy's own capacity (the budget is measured by the level-switch
 * benchmark's flood).
 *
 * With WARM_UP=first the part warms its hot path as the supervisor's does after start-up
 * (gatewayWarmUp.ts) before its port is printed; with WARM_UP=beside it prints its port at once
 * and warms up while the first viewer is served.
 *
 * With BENCH_PART_CGROUP=1 (as root) its child runs in a control group of its own, as the product's browser part does;
 * with BENCH_EXTRA_FILTER=1 the `cloison` part's syscall filter is stacked on its own, as the split's child has both;
 * BENCH_CPU and BENCH_GC_LOG are the latency audit's levers (latencyLevers.ts).
 *
 *   node --import tsx bench/lib/gatewayProcess.ts SOCKET_PATH   → prints the port
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { journalWriterAccount } from '../../supervisor/audit/journalKey';
import { restrictBrowserPart } from '../../supervisor/browserPart/partRestriction';
import { viewerAdmission } from '../../supervisor/browserPart/viewerAdmission';
import { FocusState } from '../../supervisor/gateway/focusState';
import { GATEWAY_WARM_UP_ROUNDS, warmUpGateway } from '../../supervisor/gateway/gatewayWarmUp';
import { TicketRegistry } from '../../supervisor/gateway/ticketRegistry';
import { VncGateway } from '../../supervisor/gateway/vncGateway';
import { connectToRoot, handleOfDescriptor } from '../../supervisor/sandbox/partChannel';
import { serviceSeccompProgram } from '../../supervisor/sandbox/processSyscallFilters';
import { installSeccompFilter } from '../../supervisor/system/selfRestriction';
import { startGatewayChild, type FromPart, type ToPart } from './gatewayChild';
import { childLevers } from './latencyLevers';


const socketPath = process.argv[2];
if (!socketPath) throw new Error('usage: gatewayProcess.ts SOCKET_PATH');

if (process.argv[3] === 'part') runPart();
else runRoot();

function runRoot(): void {
  const tickets = new TicketRegistry();
  const admit = viewerAdmission({ tickets, refusal: () => null, cageOf: () => ({ endpoint: { path: socketPath! }, innerPid: null, exited: new Promise(() => undefined), stop: async () => undefined }) });
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const part = startGatewayChild({ socketPath: socketPath!, admit, issueTicket: () => tickets.issue('bench'), listening: (port) => process.stdout.write(`${port}\n`), env: process.env, nodeFlags: flags, controlGroup: process.env.BENCH_PART_CGROUP === '1' });
  part.on('exit', () => process.exit(0));
  process.on('SIGTERM', () => part.kill('SIGTERM')); // exits with it (flushes --cpu-prof output)
}

function runPart(): void {
  childLevers();
  restrictBrowserPart(process.getuid?.() === 0 ? journalWriterAccount() : null);
  // BENCH_EXTRA_FILTER=1: the service's filter stacked on the part's, as the split's browser child has both (it inherits the cloison part's).
  if (process.env.BENCH_EXTRA_FILTER === '1') installSeccompFilter(serviceSeccompProgram());
  let next = 1;
  const waiting = new Map<number, (m: ToPart, handle: unknown) => void>();
  const root = connectToRoot<FromPart, ToPart>({
    message: (m, fd) => {
      waiting.get(m.request)?.(m, fd === null ? null : handleOfDescriptor(fd));
      waiting.delete(m.request);
    },
    closed: () => process.exit(0),
  });
  const ask = (m: { type: 'ticket' } | { type: 'vnc.open'; level: string; ticket: string }) =>
    new Promise<{ m: ToPart; handle: unknown }>((resolve) => {
      const request = next++;
      waiting.set(request, (answer, handle) => resolve({ m: answer, handle }));
      root.send({ ...m, request } as FromPart);
    });
  const gateway = new VncGateway({
    tickets: new TicketRegistry(),
    focus: new FocusState(['bench'], 'bench'),
    endpointOf: () => null,
    viewerBudget: null,
    admit: async (level, ticket) => {
      const { m, handle } = await ask({ type: 'vnc.open', level, ticket });
      const admission = (m as Extract<ToPart, { type: 'vnc.opened' }>).admission;
      return 'handle' in admission ? { session: admission.session, handle: handle as object } : admission;
    },
  });
  const server = createServer((req, res) => {
    if (req.url === '/ticket') void ask({ type: 'ticket' }).then(({ m }) => res.end((m as Extract<ToPart, { type: 'ticket' }>).ticket));
    else res.writeHead(404).end();
  });
  server.on('upgrade', (req, sock, head) => gateway.handleUpgrade(req, sock, head));
  server.listen(0, '127.0.0.1', async () => {
    const warmUp = () => warmUpGateway({ rounds: GATEWAY_WARM_UP_ROUNDS, parentDir: tmpdir(), gateway });
    if (process.env.WARM_UP === 'first') await warmUp();
    root.send({ type: 'listening', port: (server.address() as AddressInfo).port });
    if (process.env.WARM_UP === 'beside') await warmUp();
  });
  process.on('SIGTERM', () => process.exit(0));
}
