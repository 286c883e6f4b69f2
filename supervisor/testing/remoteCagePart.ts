/**
 * Test tool, in a test's part script run as the unprivileged part is (the manager's child, the
 * `cloison` account): the part's restriction applied, `ready` said, the manager's client connected
 * and the policy it was given read; drivers of levels' cages through the manager (RemoteCageDriver,
 * as the part's fleet makes them); what the script does reported to the test on its channel.
 */
import type { CloisonError } from '../../shared/errors';
import type { Policy } from '../../shared/policy';
import { CageManagerClient } from '../cageManager/cageManagerClient';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { RemoteCageDriver } from '../cageManager/remoteCageDriver';
import { HandedSockets, managerChannel } from '../cageManager/socketHandOver';
import { parsePolicy } from '../policy/policyLoader';

/** What the test starts the script with, at the least. */
export interface RemoteCagePartStart {
  managerSocket: string;
  policy: string;
  stateDir: string;
  runDir: string;
}

export interface RemoteCagePart<Start> {
  start: Start;
  client: CageManagerClient;
  policy: Policy;
  driverFor(level: string, uid: number): RemoteCageDriver;
  report(step: string, fields: Record<string, unknown>): void;
  /** A failure as the test reads it: its message and its code. */
  failure(err: unknown): { error: string; code: string | null };
  /** The client closed, `done` said. */
  done(): void;
}

export async function remoteCagePart<Start extends RemoteCagePartStart>(): Promise<RemoteCagePart<Start>> {
  const start = restrictCloisonPart() as unknown as Start;
  const handed = new HandedSockets();
  const channel = managerChannel();
  channel.send({ type: 'ready' });
  const client = await CageManagerClient.connectOnceListening(start.managerSocket);
  const policy = parsePolicy(start.policy, 'p.yaml');
  return {
    start,
    client,
    policy,
    driverFor: (level, uid) => new RemoteCageDriver({ client, handed, level, uid, policy: () => policy, stateDir: start.stateDir, runDir: start.runDir }),
    report: (step, fields) => channel.send({ type: 'report', step, ...fields }),
    failure: (err) => ({ error: (err as Error).message, code: (err as CloisonError).code ?? null }),
    done: () => {
      client.close();
      channel.send({ type: 'done' });
    },
  };
}
