/**
 * Test tool: a real CageManagerServer in this process, served to a real `cloison` test account, as
 * managerMain.ts serves the part — its own test folder (0711: the part's uid passes through it), the
 * account, the manager's journal and socket there, the state and run folders, the policy read at the first
 * request and the executors the test names. What the test then asks goes through the real
 * authorization; `runPart` starts the test's part script as that account against it.
 */
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Policy } from '../../shared/policy';
import { FileAuditJournal } from '../audit/auditJournal';
import { CageManagerServer, REFUSED_KIND, type CageManagerServerOptions, type RootExecutors } from '../cageManager/cageManagerServer';
import { cageStartExecutor } from '../cageManager/cageStartExecutor';
import { cageStopExecutor } from '../cageManager/cageStopExecutor';
import { cageWaitExecutor } from '../cageManager/cageWaitExecutor';
import { cloisonPart, type CloisonPartMessage } from '../cageManager/cloisonPart';
import type { ManagedCages } from '../cageManager/managedCages';
import { managerExecutors, type ManagerHoldings } from '../cageManager/managerExecutors';
import { parsePolicy } from '../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from './pamTestUser';
import { testRoot } from './testRoots';

type Part = ReturnType<typeof cloisonPart>;

/** What the executors are made with: the folders and policy the authorization checks against. */
export interface ServedManagerMaking {
  root: string;
  /** The manager's journal (an executor that journals itself, as the policy reload does). */
  journal: FileAuditJournal;
  folders: { stateDir: string; runDir: string };
  policy: () => Policy;
  /** The part `runPart` started, while it runs (the executors that hand it descriptors check its pid). */
  part: () => Part | null;
  /** With `cages`: cage.start, cage.stop and cage.wait on them, as the manager serves them (managerExecutors.ts). */
  cageExecutors: Pick<RootExecutors, 'cage.start' | 'cage.stop' | 'cage.wait'>;
}

export interface ServedManagerOptions {
  /** The test folder's name prefix; or `root`, a folder the test made first (its policy names files there). */
  prefix?: string;
  root?: string;
  /** The policy's YAML (read at the first request, then held), or the test's own reading of it. */
  policy: string | (() => Policy);
  /**
   * The executors served; or `table`, the manager's own table (managerExecutors.ts) over `cages`,
   * these holdings over its defaults (given the account and the manager's journal, when they name
   * its uid or journal there as managerMain.ts has them do).
   */
  executors?: (making: ServedManagerMaking) => RootExecutors;
  table?: Partial<ManagerHoldings> | ((cloison: PamTestUser, journal: FileAuditJournal) => Partial<ManagerHoldings>);
  /** The cages the executors start: stopped by close(), after the part. */
  cages?: ManagedCages;
  /** The authorization asks it whether the manager runs the level's cage (managedCages.ts `holds`). */
  holdsCage?: boolean;
  /** The server's bounds, where the test sets them. */
  bounds?: Pick<CageManagerServerOptions, 'maxFrameBytes' | 'maxInFlight' | 'longPendingOps' | 'maxLongPending' | 'maxConnections' | 'refusalJournal'>;
}

export interface ServedManager {
  root: string;
  cloison: PamTestUser;
  journal: FileAuditJournal;
  server: CageManagerServer;
  socketPath: string;
  folders: { stateDir: string; runDir: string };
  /** With `table`: the manager's own table served (stopped by close()). */
  table: ReturnType<typeof managerExecutors> | null;
  /** The refusals journaled so far. */
  refusals(): Array<Record<string, unknown>>;
  /**
   * Starts `script` as the `cloison` part, told `start`; resolves with the first message `until`
   * holds for (default: its `done`), every earlier one given to `message` (with a way to fail the
   * start). Rejects when the part ends first. The part runs on until stopPart() or close().
   */
  runPart(script: string, start: Record<string, unknown>, options?: PartOptions): Promise<CloisonPartMessage>;
  stopPart(): Promise<void>;
  /** Starts a level's cage as the manager does on its own (the cage.start executor, no part asking). */
  startCage(level: string, uid: number): Promise<unknown>;
  /**
   * Stops the part and the cages, closes the server, then runs `then` (what else the test stopped
   * once the server no longer serves), closes the journal, removes the account and the folder.
   */
  close(then?: () => void | Promise<void>): Promise<void>;
}

export interface PartOptions {
  message?: (message: CloisonPartMessage, fail: (error: Error) => void) => void;
  until?: (message: CloisonPartMessage) => boolean;
}

export async function serveManagerToCloison(options: ServedManagerOptions): Promise<ServedManager> {
  const root = options.root ?? testRoot(options.prefix);
  chmodSync(root, 0o711);
  const cloison = createPamTestUser();
  const journal = new FileAuditJournal(join(root, 'manager-audit.jsonl'));
  const socketPath = join(root, 'manager.sock');
  const folders = { stateDir: join(root, 'state'), runDir: join(root, 'run') };
  const given = options.policy;
  // A YAML read once, at the first request, and held as the manager holds its policy (a reading asks
  // the name service about every uid: a flood of requests each reading it was a flood of getent).
  let read: Policy | null = null;
  const policy = typeof given === 'string' ? () => (read ??= parsePolicy(given, 'p.yaml')) : given;
  let part: Part | null = null;
  const cages = options.cages;
  if (options.table && !cages) throw new Error('the manager\'s own table needs the cages it fills');
  const cageExecutors = cages ? { 'cage.start': cageStartExecutor({ policy, ...folders, cages }), 'cage.stop': cageStopExecutor({ cages }), 'cage.wait': cageWaitExecutor({ cages }) } : {};
  const making = { root, journal, folders, policy, part: () => part, cageExecutors };
  const table = options.table ? managerExecutors({ policy, ...folders, trainingKeysDir: join(root, 'training'), workstationUser: null, hostSound: () => null, cages: cages!, part: () => part, onSleep: () => undefined, ...(typeof options.table === 'function' ? options.table(cloison, journal) : options.table) }) : null;
  const server = new CageManagerServer({
    socketPath,
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy, ...folders, trainingKeysDir: join(root, 'training'), workstationUser: null, ...(options.holdsCage && cages ? { holdsCage: cages.holds } : {}) },
    executors: table?.executors ?? options.executors!(making),
    ...options.bounds,
  });
  await server.listen();
  const stopPart = async () => {
    await part?.stop();
    part = null;
  };
  return {
    root,
    cloison,
    journal,
    server,
    socketPath,
    folders,
    table,
    refusals: () => readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind === REFUSED_KIND),
    runPart: (script, start, partOptions = {}) => {
      const until = partOptions.until ?? ((m: CloisonPartMessage) => m.type === 'done');
      const seen: CloisonPartMessage[] = [];
      return new Promise((resolve, reject) => {
        part = cloisonPart({
          command: { callerUrl: import.meta.url, source: '', bundle: '', script },
          account: () => cloison,
          start,
          message: (m) => {
            if (until(m)) return resolve(m);
            seen.push(m);
            partOptions.message?.(m, reject);
          },
          restarting: (reason) => reject(new Error(`the part ended (${reason}) after ${JSON.stringify(seen)}`)),
        });
        part.start().catch(reject);
      });
    },
    stopPart,
    startCage: (level, uid) => cageExecutors['cage.start']!({ op: 'cage.start', level, uid }),
    close: async (then) => {
      await stopPart();
      for (const level of cages?.levels() ?? []) await cages!.cage(level)?.stop();
      await server.close();
      await table?.stop(); // its card proxies stopped before their folder goes
      await then?.();
      journal.close();
      cloison.remove();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
