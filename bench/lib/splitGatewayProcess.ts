/**
 * Cloison's VNC gateway as the split supervisor runs it (#29), in front of one endpoint: this
 * process (root) stands for the cage manager — a real CageManagerServer answering `cage.vncSocket`
 * with the real executor (vncSocketExecutor.ts: it connects to the endpoint, paused, and hands the
 * descriptor over on its part's channel) — and starts its `cloison` part as the manager does
 * (cloisonPart.ts: as the `cloison` account, no capability, NoNewPrivs, the service's filter).
 * The part (splitGatewayPart.ts) issues the tickets and admits viewers as the supervisor's part
 * does (viewerAdmission.ts over RemoteCageDriver's `openVnc`), and hands each admitted socket on to
 * its browser child, where the gateway reads it (gatewayProcess.ts's `part` mode, as the root
 * stand-in's child). The pixel path is the same as before the split: endpoint → browser child → viewer;
 * the manager and the part act once per connection. The CPU of all three counts (the process tree).
 *
 * The endpoint stands for a level's cage (`low` of a two-level policy): its peer is not checked
 * (it is the benchmark's synthetic source, or an Xvnc the benchmark started).
 *
 *   node --import tsx bench/lib/splitGatewayProcess.ts SOCKET_PATH   → prints the port
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAuditJournal } from '../../supervisor/audit/auditJournal';
import type { RunningCage } from '../../supervisor/cages/cageDriver';
import { CageManagerServer } from '../../supervisor/cageManager/cageManagerServer';
import { cloisonPart } from '../../supervisor/cageManager/cloisonPart';
import { vncSocketExecutor } from '../../supervisor/cageManager/vncSocketExecutor';
import { parsePolicy } from '../../supervisor/policy/policyLoader';
import { account } from '../../supervisor/system/accounts';
import { SPLIT_BENCH_LEVEL, SPLIT_BENCH_POLICY, type SplitGatewayPartStart } from './splitGatewayPolicy';

const socketPath = process.argv[2];
if (!socketPath) throw new Error('usage: splitGatewayProcess.ts SOCKET_PATH');
if (process.getuid?.() !== 0) throw new Error('the split gateway benchmark runs its cage manager as root');
const cloison = account('cloison');
if (!cloison) throw new Error('no cloison account (scripts/setup.sh makes it)');

const dir = mkdtempSync(join(tmpdir(), 'cloison-bench-manager-'));
chmodSync(dir, 0o711); // the part reaches the manager's socket (0600, its own) in it
const folders = { stateDir: join(dir, 'state'), runDir: join(dir, 'run') };
const policy = parsePolicy(SPLIT_BENCH_POLICY, 'bench.yaml');
const journal = new FileAuditJournal(join(dir, 'manager-audit.jsonl'));
const cage: RunningCage = { endpoint: { path: socketPath }, innerPid: null, exited: new Promise(() => undefined), stop: async () => undefined };
let part: ReturnType<typeof cloisonPart> | null = null;
const server = new CageManagerServer({
  socketPath: join(dir, 'manager.sock'),
  peerUid: cloison.uid,
  peerGid: cloison.gid,
  journal,
  authorization: { policy: () => policy, ...folders, trainingKeysDir: join(dir, 'training'), workstationUser: null },
  executors: {
    'cage.vncSocket': vncSocketExecutor({ cage: (level) => (level === SPLIT_BENCH_LEVEL ? cage : null), part: () => part }),
    // The part's driver waits for the cage's end (RemoteCageDriver.rejoin): it runs as long as this process.
    'cage.wait': () => new Promise(() => undefined),
  },
});
await server.listen();
const start: SplitGatewayPartStart = { managerSocket: join(dir, 'manager.sock'), socketPath, ...folders, warmUp: process.env.WARM_UP ?? null, nodeFlags: (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean) };
part = cloisonPart({
  command: { callerUrl: import.meta.url, source: '', bundle: '', script: new URL('./splitGatewayPart.ts', import.meta.url).pathname },
  account: () => cloison,
  start,
  message: (m) => {
    if (m.type === 'listening') process.stdout.write(`${String(m.port)}\n`);
  },
  restarting: (reason) => (process.stderr.write(`bench cloison part ended: ${reason}\n`), void stop(1)),
});
await part.start();

async function stop(code: number): Promise<never> {
  await part?.stop().catch(() => undefined);
  await server.close();
  journal.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
