/**
 * The benchmark's `cloison` part (splitGatewayProcess.ts starts it as the cage manager starts the
 * supervisor's): restricted first (cloisonPartRestriction.ts), then as the supervisor's part does
 * for a viewer: a ticket spent, the level's connection asked of the manager (RemoteCageDriver's
 * `openVnc`: `cage.vncSocket`, the socket taken from the channel unread, HandedSockets), handed on
 * to its browser child (gatewayChild.ts), where the gateway reads it.
 */
import { CageManagerClient } from '../../supervisor/cageManager/cageManagerClient';
import { restrictCloisonPart } from '../../supervisor/cageManager/cloisonPartRestriction';
import { RemoteCageDriver } from '../../supervisor/cageManager/remoteCageDriver';
import { HandedSockets, managerChannel } from '../../supervisor/cageManager/socketHandOver';
import { viewerAdmission } from '../../supervisor/browserPart/viewerAdmission';
import { TicketRegistry } from '../../supervisor/gateway/ticketRegistry';
import { parsePolicy } from '../../supervisor/policy/policyLoader';
import { startGatewayChild } from './gatewayChild';
import { SPLIT_BENCH_LEVEL, SPLIT_BENCH_POLICY, SPLIT_BENCH_UID, type SplitGatewayPartStart } from './splitGatewayPolicy';

const start = restrictCloisonPart() as unknown as SplitGatewayPartStart;
const handed = new HandedSockets();
const client = await CageManagerClient.connect(start.managerSocket);
const policy = parsePolicy(SPLIT_BENCH_POLICY, 'bench.yaml');
const driver = new RemoteCageDriver({ client, handed, level: SPLIT_BENCH_LEVEL, uid: SPLIT_BENCH_UID, policy: () => policy, stateDir: start.stateDir, runDir: start.runDir });
const cage = driver.rejoin(null);
const tickets = new TicketRegistry();
// The gateway's level is `bench` (gatewayProcess.ts's part); its cage is the manager's `low`.
const admit = viewerAdmission({ tickets, refusal: () => null, cageOf: () => cage });
managerChannel().send({ type: 'ready' });
const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: process.env.LANG, ...(start.warmUp ? { WARM_UP: start.warmUp } : {}) };
const child = startGatewayChild({ socketPath: start.socketPath, admit, issueTicket: () => tickets.issue('bench'), listening: (port) => managerChannel().send({ type: 'listening', port }), env, nodeFlags: start.nodeFlags });
child.on('exit', () => process.exit(0));
process.on('SIGTERM', () => child.kill('SIGTERM'));
