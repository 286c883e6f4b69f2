/**
 * The `cloison` part's program (issue #29): what the root cage manager starts with `--part`
 * (cageManager/managerMain.ts, cloisonPart.ts). It drops to `cloison` for good before it reads
 * anything (cloisonPartRestriction.ts), says `ready` on its channel, then runs the whole supervisor
 * over the manager's socket (supervisorPart.ts) until the manager stops it (SIGTERM) or its
 * channel closes. Its log lines go to its stderr, which the manager marks with its name.
 */
import { restrictCloisonPart } from './cageManager/cloisonPartRestriction';
import { managerChannel } from './cageManager/socketHandOver';
import { createSupervisorPart, type SupervisorPartStart } from './supervisorPart';

const log = (msg: string, fields?: Record<string, unknown>) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...fields })}\n`);

async function main(): Promise<void> {
  const start = restrictCloisonPart() as unknown as SupervisorPartStart;
  managerChannel().send({ type: 'ready' });
  const { sup, link } = await createSupervisorPart(start, log);
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    void sup.stop().finally(() => {
      link.close();
      process.exit(0);
    });
  });
  await sup.start({ onListening: () => log('listening', { rpcSocket: sup.rpcSocketPath }) });
  const host = sup.browserHost;
  log('ready', { pid: process.pid, ...(host ? { port: host.port, origin: host.origin } : {}) });
}

main().catch((err: Error) => {
  log('the cloison part failed', { error: err.message });
  process.exit(1);
});
