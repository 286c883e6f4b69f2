/**
 * The root cage manager's entry point (issue #29): the one root process of the split, serving the
 * unprivileged `cloison` part's requests on its socket (cageManagerServer.ts) with every executor
 * of managerExecutors.ts. It loads the policy itself (the file root owns, or the embedded default)
 * and reads it again on SIGHUP: a policy that no longer names a level refuses that level's requests
 * from the next one on; a policy that does not load is refused and the running one stays.
 *
 *   cloison-cage-manager [--policy FILE] [--state-dir DIR] [--run-dir DIR] [--socket PATH]
 *                        [--peer-user cloison] [--shell-user NAME] [--audio-server ADDRESS]
 *                        [--part SCRIPT]
 *
 * Like the supervisor's root part, it restricts itself before anything else (rootPartRestriction.ts:
 * the root requests' capabilities only, the root part's syscall filter). It prints one JSON line on
 * stdout once it listens, then starts the `cloison` part (cloisonPart.ts: its own control group, its
 * stderr marked, the channel `cage.vncSocket` and `sound.host` hand descriptors on) from the script
 * `--part` names, with the manager's socket in its start; without `--part` no part runs (the real
 * part's program is not wired yet). It holds the cages `cage.start` made (managedCages.ts) and stops
 * them, and the part, when it is stopped: nothing re-adopts a cage across a manager's restart yet.
 * Never imported (it runs its main and restricts the process that loads it). Not yet what
 * `npm start` starts (docs/least-privilege.md, "What remains to wire").
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Policy } from '../../shared/policy';
import { FileAuditJournal } from '../audit/auditJournal';
import type { HostSoundTarget } from '../audio/hostSound';
import { DEFAULT_POLICY_NAME } from '../policy/defaultPolicy';
import { loadDefaultPolicy, readPolicyFile } from '../policy/policyLoader';
import { restrictRootPart } from '../sandbox/rootPartRestriction';
import { account } from '../session/accounts';
import { resolveWorkstationUser } from '../session/workstationUser';
import { CageManagerServer } from './cageManagerServer';
import { cloisonPart } from './cloisonPart';
import { ManagedCages } from './managedCages';
import { MANAGER_JOURNAL_FILE, MANAGER_SOCKET_FILE, managerExecutors } from './managerExecutors';

function say(msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...fields })}\n`);
}

function fail(message: string): never {
  process.stderr.write(`cloison-cage-manager: ${message}\n`);
  process.exit(2);
}

function loadPolicy(file: string | undefined): Policy {
  return file ? readPolicyFile(file).policy : loadDefaultPolicy();
}

async function main(): Promise<void> {
  restrictRootPart();
  const { values } = parseArgs({
    options: {
      policy: { type: 'string' },
      'state-dir': { type: 'string' },
      'run-dir': { type: 'string' },
      socket: { type: 'string' },
      'peer-user': { type: 'string', default: 'cloison' },
      'shell-user': { type: 'string' },
      'audio-server': { type: 'string' },
      part: { type: 'string' },
    },
    strict: true,
  });
  const policyFile = values.policy ? resolve(values.policy) : undefined;
  let policy: Policy;
  try {
    policy = loadPolicy(policyFile);
  } catch (err) {
    fail(`policy refused, nothing started:\n${(err as Error).message}`);
  }
  const peer = account(values['peer-user']!);
  if (!peer) fail(`no account "${values['peer-user']}": the unprivileged part's user (setup.sh makes cloison)`);
  if (peer.uid === 0) fail('the peer user cannot be root');
  const stateDir = resolve(values['state-dir'] ?? '/var/lib/cloison');
  const runDir = resolve(values['run-dir'] ?? '/run/cloison');
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const workstation = resolveWorkstationUser({ shellUser: values['shell-user'], policyUser: policy.session.user });
  if (workstation.problem) say('no password is checked: no workstation user', { reason: workstation.problem });
  const hostSound = hostSoundOf(workstation.user, values['audio-server']);
  const socketPath = resolve(values.socket ?? join(runDir, MANAGER_SOCKET_FILE));
  const journal = new FileAuditJournal(join(stateDir, MANAGER_JOURNAL_FILE));
  const cages = new ManagedCages();
  const partScript = values.part ? resolve(values.part) : null;
  const part = partScript
    ? cloisonPart({
        command: { callerUrl: import.meta.url, source: '', bundle: '', script: partScript },
        account: () => peer,
        // Where its requests' paths are: the folders are the manager's, the part only names them.
        start: { managerSocket: socketPath, stateDir, runDir },
        // Untrusted: only its kind is logged; nothing the part says acts on root's side yet.
        message: (m) => say('cloison part: message not acted on', { type: m.type.slice(0, 64) }),
        restarting: (reason) => say('cloison part ended: starting it again', { reason }),
        log: say,
      })
    : null;
  const trainingKeysDir = join(runDir, 'training', 'keys'); // trainingWiring.ts's trainingKeysDir
  const { executors, stop, policyReloaded } = managerExecutors({
    policy: () => policy,
    stateDir,
    runDir,
    trainingKeysDir,
    workstationUser: workstation.user,
    hostSound: () => hostSound,
    cages,
    part: () => (part?.ready ? part : null),
    onSleep: () => journal.append('session.sleep', 'supervisor', {}),
    log: say,
  });
  const server = new CageManagerServer({
    socketPath,
    peerUid: peer.uid,
    peerGid: peer.gid,
    journal,
    authorization: { policy: () => policy, stateDir, runDir, trainingKeysDir, holdsCage: cages.holds, workstationUser: workstation.user?.name ?? null },
    executors,
  });
  await server.listen();
  process.on('SIGHUP', () => {
    if (!policyFile) return say('SIGHUP: the embedded default policy has nothing to read again');
    try {
      policy = loadPolicy(policyFile);
      say('policy reloaded', { levels: policy.levels.map((l) => l.id) });
      policyReloaded();
      // A level the policy no longer names keeps nothing: its cage is stopped here (the part may still stop or wait for it meanwhile).
      for (const level of cages.levels()) {
        if (policy.levels.some((l) => l.id === level)) continue;
        void cages.cage(level)?.stop().then(() => say('cage of a dropped level stopped', { level }), (err: Error) => say('cage stop failed', { level, reason: err.message }));
      }
    } catch (err) {
      say('new policy refused; the running policy stays', { reason: (err as Error).message });
    }
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say('stopping', { signal });
    void stopAll().then(
      () => process.exit(0),
      (err: Error) => {
        say('stop failed', { reason: err.message });
        process.exit(1);
      },
    );
  };
  // The part first (no request after it), then every cage it started, as the supervisor stops
  // them today: a cage left behind would have no launcher channel nor anyone to stop it (a
  // manager that died leaves its cages to the next one's adoption, cageStartExecutor.ts).
  const stopAll = async () => {
    // The cages are stopped even if the part's stop fails.
    await part?.stop().catch((err: Error) => say('cloison part stop failed', { reason: err.message }));
    // A start under way answers first (its driver's own time limit), then its cage is stopped too.
    for (let waited = 0; cages.levels().some((level) => cages.state(level) === 'starting' || cages.state(level) === 'mounting') && waited < 60_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    const levels = cages.levels();
    const outcomes = await Promise.allSettled(levels.map((level) => cages.cage(level)?.stop()));
    outcomes.forEach((o, i) => say(o.status === 'fulfilled' ? 'cage stopped' : 'cage stop failed', { level: levels[i], ...(o.status === 'rejected' ? { reason: (o.reason as Error).message } : {}) }));
    stop();
    await server.close();
    journal.close();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.stdout.write(`${JSON.stringify({ listening: true, socket: socketPath, policy: policyFile ?? DEFAULT_POLICY_NAME, workstationUser: workstation.user?.name ?? null })}\n`);
  if (part) {
    // One that ends later is started again (its backoff); one whose first start fails is said here.
    await part.start().then(
      () => say('cloison part started', { pid: part.pid }),
      (err: Error) => say('cloison part did not start', { reason: err.message }),
    );
  } else say('no cloison part: --part not given');
}

/** The workstation user's own PulseAudio/PipeWire socket, or the address given; none without a user or a server (as main.ts). */
function hostSoundOf(user: { uid: number; gid: number; name: string } | null, server: string | undefined): HostSoundTarget | null {
  if (!user) return null;
  const address = server ?? (existsSync(`/run/user/${user.uid}/pulse/native`) ? `unix:/run/user/${user.uid}/pulse/native` : null);
  if (!address) return null;
  return { server: address, uid: user.uid, gid: user.gid, home: account(user.name)?.home ?? '/nonexistent' };
}

main().catch((err: Error) => {
  process.stderr.write(`cloison-cage-manager: failed: ${err.message}\n`);
  process.exit(1);
});
