/**
 * Test tool, run as the `cloison` part (the test's manager child, dropped to the test's cloison
 * account): the supervisor as cloisonPartMain.ts builds it (supervisorPart.ts), its state and
 * run folders its own, its cages the manager's. Reports to the parent on its channel: each cage's
 * state as it changes, its log lines, and once started where its browser host and shell socket are.
 */
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { managerChannel } from '../cageManager/socketHandOver';
import { createSupervisorPart, type SupervisorPartStart } from './supervisorPart';

const start = restrictCloisonPart() as unknown as SupervisorPartStart;
const channel = managerChannel();
channel.send({ type: 'ready' });
const report = (type: string, fields: Record<string, unknown>) => channel.send({ type, ...fields });

const { sup } = await createSupervisorPart(start, (msg, fields) => report('log', { msg, ...(fields ? { fields: JSON.parse(JSON.stringify(fields)) as unknown } : {}) }));
for (const lifecycle of sup.cages.values()) lifecycle.on('status', (state) => report('status', { level: state.level, status: state.status, restarts: state.restarts, innerPid: lifecycle.cage?.innerPid ?? null, detail: state.detail ?? null }));
try {
  await sup.start();
  const host = sup.browserHost!;
  report('started', { port: host.port, origin: host.origin, viewerOrigins: host.viewerOrigins, rpcSocket: sup.rpcSocketPath, adminSocket: sup.adminSocketPath, pid: process.pid });
} catch (err) {
  report('failed', { error: (err as Error).message, stack: (err as Error).stack ?? '' });
}
process.on('SIGTERM', () => void sup.stop().finally(() => process.exit(0)));
