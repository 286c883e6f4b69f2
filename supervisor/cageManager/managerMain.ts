/**
 * The root cage manager's entry point (issue #29): the one root process of the split, serving the
 * unprivileged `cloison` part's requests on its socket (cageManagerServer.ts) with every executor
 * of managerExecutors.ts. It loads the policy itself (the file root owns, or the embedded default)
 * and reads it again on SIGHUP and at the part's `policy.reload` (managerPolicyReload.ts): a policy that no longer names a level refuses that level's requests
 * from the next one on; a policy that does not load is refused and the running one stays.
 *
 *   cloison-cage-manager [--policy FILE] [--state-dir DIR] [--run-dir DIR] [--socket PATH]
 *                        [--peer-user cloison] [--shell-user NAME] [--audio-server ADDRESS]
 *                        [--part-state-dir DIR] [--part-run-dir DIR] [--part SCRIPT | --no-part]
 *                        [--port N] [--allow-origin O]... [--browser-shell [--print-launch-url]]
 *                        [--renderer DIR] [--shell-group NAME] [--admin-group NAME] [--log-level L]
 *                        [--forward-journal auto|journald|syslog|syslog:PATH|none]
 *                        [--training SCENARIO.yaml [--trainee NAME] [--report-dir DIR]]
 *                        [--keep-cages-on-stop] [--display-keyboard LAYOUT[:VARIANT]]
 *
 * Like the supervisor's root part, it restricts itself before anything else (rootPartRestriction.ts:
 * the root requests' capabilities only, the root part's syscall filter; bundled, its entry
 * managerEntry.ts does it before this module loads). It starts the `cloison` part first, before its
 * own start (policy, media mounts, staging area, socket): the part waits for the socket, which
 * answers only once all that is done (CageManagerClient.connectOnceListening); a policy refused
 * stops the part with the manager. It prints one JSON line on stdout once it listens. The part
 * (cloisonPart.ts: its own control group, its
 * stderr marked, the channel `cage.vncSocket` and `sound.host` hand descriptors on): the supervisor
 * itself in part mode (cloisonPartEntry.ts, its bundle out/supervisor/cloisonPart.js), or the
 * script `--part` names (tests), or none (`--no-part`). Its start holds the manager's socket, the
 * part's own state and run folders (`<state-dir>-broker`, `<run-dir>-broker` unless named: made
 * here, the part's account's; a root supervisor's state found in the manager's folder moved into
 * the part's first: rootStateToPart.ts), the shell's and administrators' groups (the part keeps them as
 * supplementary groups, to give them its sockets) and the shell's settings given here. The part's
 * "listening" and "ready" announcements are printed on stdout as the root supervisor prints them
 * (partAnnouncement.ts: only what an honest part can say); a first start that fails, as
 * `{"partFailed":true,...}`, as is a training session the part refuses (then the manager stops,
 * status 2: started again, it would refuse it again). A training session's scenario is read and
 * its report written by the part, as `cloison` (a missing report folder is made here, its). SIGHUP is passed on to the part only when the manager took the policy (managerSighup.ts); the part runs the manager's text (`policy.current`), never reading the file itself. It holds the cages `cage.start` made
 * (managedCages.ts) and stops them, and the part, when it is stopped; with --keep-cages-on-stop
 * (the packaged unit: a restart, an upgrade), SIGTERM leaves the cages running for the next
 * manager's `cage.start` to adopt (keptCagesStop.ts), SIGINT still stops them. With the supervisor's
 * own part (not --part, not --training), it starts every bwrap level's cage itself once it listens,
 * while the part starts; the part's first `cage.start` of a level takes that cage (cageStartExecutor.ts).
 * A part that never comes leaves them running, as a part that dies does, until the manager stops.
 * Never imported (it runs its main and restricts the process that loads it). `npm start` starts it
 * (scripts/start.mjs), as does cloison-cage-manager.service.
 */
import { closeSync, constants, existsSync, fchmodSync, fchownSync, mkdirSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDisplayKeyboard } from '../../shared/keyboardLayout';
import type { Policy } from '../../shared/policy';
import { FileAuditJournal } from '../audit/auditJournal';
import { mediaRootOf } from '../cages/bwrapDriver';
import { MediaMounts } from '../usb/mediaMounts';
import { PART_STAGING_DIR, stagingAreaBytes } from '../files/fileStaging';
import { mountStagingArea, unmountStagingArea } from '../files/stagingArea';
import type { HostSoundTarget } from '../audio/hostSound';
import { DEFAULT_POLICY_NAME, DEFAULT_POLICY_YAML } from '../policy/defaultPolicy';
import { loadDefaultPolicy, readPolicyFile } from '../policy/policyLoader';
import type { Reader } from '../policy/readableBy';
import { restrictRootPart } from '../sandbox/rootPartRestriction';
import { account } from '../system/accounts';
import { resolveWorkstationUser } from '../session/workstationUser';
import { CageManagerServer } from './cageManagerServer';
import { cloisonPart, type CloisonPartMessage } from './cloisonPart';
import { ManagedCages } from './managedCages';
import { unmountKeysOfEndedPart } from './partRestartKeys';
import { MANAGER_JOURNAL_FILE, MANAGER_SOCKET_FILE, managerExecutors } from './managerExecutors';
import { onManagerSighup, passHup } from './managerSighup';
import { holdHup, releaseHup } from './managerHupHold';
import { ManagerPolicyReload } from './managerPolicyReload';
import { removeManagerWhereabouts, writeManagerWhereabouts } from './managerWhereabouts';
import { announcementLine, PART_ANNOUNCEMENT_TYPE, partFailedLine, partReason, TRAINING_REFUSED_TYPE } from './partAnnouncement';
import { PartMessageLog } from './partMessageLog';
import { reportFolderToMake } from './namedReportFolder';
import { keepsCages, machineStopping } from './keptCagesStop';
import { partStopGraceMs } from './partStopGrace';
import { managerRunFolder } from './managerRunFolder';
import { journalStateMove, moveRootStateToPart } from './rootStateToPart';
import { trimMallocFromNowOn } from '../system/mallocTrim';
import { ownUidOverlaps } from '../system/ownUids';
import { subordinateGrants } from '../system/subordinateIds';

function say(msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...fields })}\n`);
}

function fail(message: string): never {
  process.stderr.write(`cloison-cage-manager: ${message}\n`);
  process.exit(2);
}

/** `part`: the account its part reads the policy as — the files that part reads must be readable by it (policyLoader.ts). */
function loadPolicy(file: string | undefined, part?: Reader): { policy: Policy; text: string } {
  return file ? readPolicyFile(file, 'whole', part) : { policy: loadDefaultPolicy(), text: DEFAULT_POLICY_YAML };
}

/** Stops the part, its cages and the manager (set once they exist). */
let shutdown: (signal: string, status?: number) => void = (_signal, status = 0) => process.exit(status);

async function main(): Promise<void> {
  // Held until the reload can run (managerHupHold.ts); from the program's first line when the entry runs this.
  holdHup();
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
      'no-part': { type: 'boolean', default: false },
      'part-state-dir': { type: 'string' },
      'part-run-dir': { type: 'string' },
      port: { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
      'browser-shell': { type: 'boolean', default: false },
      'print-launch-url': { type: 'boolean', default: false },
      renderer: { type: 'string' },
      'shell-group': { type: 'string' },
      'admin-group': { type: 'string' },
      'log-level': { type: 'string' },
      'forward-journal': { type: 'string' },
      training: { type: 'string' },
      trainee: { type: 'string' },
      'report-dir': { type: 'string' },
      'keep-cages-on-stop': { type: 'boolean', default: false },
      // The layout of the display the shell opened on (npm start's), handed to the part in its start.
      'display-keyboard': { type: 'string' },
    },
    strict: true,
  });
  displayKeyboardOf(values); // refused before any folder is made or anything starts
  const policyFile = values.policy ? resolve(values.policy) : undefined;
  const peer = account(values['peer-user']!);
  if (!peer) fail(`no account "${values['peer-user']}": the unprivileged part's user (setup.sh makes cloison)`);
  if (peer.uid === 0) fail('the peer user cannot be root');
  // A subuid/subgid grant over the part's account lets its holder become it (partAccountSubuid.attack.test.ts).
  const peerGrant = values['no-part'] ? undefined : subordinateGrants().find((g) => [peer.uid, peer.gid].some((id) => g.start <= id && id < g.end));
  if (peerGrant) fail(`the ${values['peer-user']} account (uid ${peer.uid}, gid ${peer.gid}) is granted as subordinate ids (${peerGrant.file}: ${peerGrant.line}): its holder could become it in a user namespace and signal the part or own its files (what crosses between levels): narrow the grant`);
  const partReader = values['no-part'] ? undefined : { name: values['peer-user']!, uid: peer.uid, gid: peer.gid };
  const stateDir = resolve(values['state-dir'] ?? '/var/lib/cloison');
  const runDir = resolve(values['run-dir'] ?? '/run/cloison');
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  managerRunFolder(runDir); // the part passes through it to the manager's socket
  const socketPath = resolve(values.socket ?? join(runDir, MANAGER_SOCKET_FILE));
  const cages = new ManagedCages();
  let hupOwed = false; // a SIGHUP that came while the part was starting, passed on at its ready (managerSighup.ts)
  // The part's folders made (and its start built) before the root supervisor's state is moved into them.
  // The workstation user as named here (--shell-user): the part resolves it from its policy as the manager does.
  const partStartFields = values['no-part'] ? null : partStart(values, { managerSocket: socketPath, stateDir, runDir, policyFile: policyFile ?? null, peer, shellUser: values['shell-user'] ?? null });
  // Before the part first starts and before the manager's journal opens (the key beside it is the one moved): the root
  // supervisor's journal, trust phrase and keys become the part's (rootStateToPart.ts), journaled once the journal is open.
  const stateMove = values['no-part'] ? null : moveRootStateToPart({ stateDir, partStateDir: partStateDirOf(values, stateDir), owner: peer, log: say });
  const journal = new FileAuditJournal(join(stateDir, MANAGER_JOURNAL_FILE));
  journalStateMove(journal, stateMove);
  // Set once the executors are, before the part can ask anything (it asks once the socket answers, after they are).
  let partEnded: ((reason: string) => unknown) | null = null;
  let refusing = false;
  const part = values['no-part']
    ? null
    : cloisonPart({
        // The supervisor in part mode (its bundle beside this one's, or its source through tsx), or a test's script.
        command: { callerUrl: import.meta.url, source: '../cloisonPartEntry.ts', bundle: 'cloisonPart.js', ...(values.part ? { script: resolve(values.part) } : {}) },
        account: () => peer,
        start: partStartFields ?? {},
        // Untrusted: its announcements printed only as partAnnouncement.ts rebuilds them; the rest only its kind logged.
        message: (m) => {
          if (m.type !== TRAINING_REFUSED_TYPE) return relay(m, partRunDirOf(values, runDir));
          // The part's refusal of the session it was started with: said as a start that failed, then everything stopped.
          const reason = partReason(m.reason);
          say('cloison part refused its training session', { reason });
          process.stdout.write(`${partFailedLine(`training refused: ${reason}`)}\n`);
          shutdown('training refused', 2);
        },
        started: () => {
          if (hupOwed && part?.pid) passHup(part.pid, { log: say });
          hupOwed = false;
        },
        restarting: (reason) => {
          say('cloison part ended: starting it again', { reason, keysUnmounted: unmountKeysOfEndedPart({ runDir, journal, reason }), loopsDetached: partEnded?.(reason) });
        },
        log: say,
      });
  const trainingKeysDir = join(runDir, 'training', 'keys'); // trainingWiring.ts's trainingKeysDir
  // The part makes training keys' images there (training/trainingKeys.ts); loop.attach takes only regular files in it.
  mkdirSync(join(runDir, 'training'), { recursive: true, mode: 0o711 });
  partFolder(trainingKeysDir, peer, 0o700);
  // The part is started now, before the manager's own start (its policy, media mounts, staging
  // area, socket): its Node, bundle and restriction run beside them instead of after (the start's
  // critical path, bench/RESULTS.md). It reaches nothing of the manager's meanwhile: its requests
  // go to the socket, which answers only once the policy is read and checked and what the part is
  // given (the staging area) is in place; until then it tries again (CageManagerClient.connectOnceListening).
  // One that ends later is started again (its backoff); one whose first start fails is said here.
  // A reload while the part starts is passed on once it is ready (`started`, above): before, it has
  // no SIGHUP handler yet (the signal would end it; seen: earlyStartReload.attack.test.ts), and it
  // may have asked the manager's policy text already. Ready, it asks again.
  const partStarted = part?.start().then(
    () => say('cloison part started', { pid: part.pid }),
    (err: Error) => {
      if (refusing) return;
      say('cloison part did not start', { reason: err.message });
      process.stdout.write(`${partFailedLine(err.message)}\n`);
    },
  );
  let policy: Policy;
  let policyText: string;
  try {
    ({ policy, text: policyText } = loadPolicy(policyFile, partReader));
  } catch (err) {
    // The part started early goes with the manager: it never reached the socket, which never listened.
    refusing = true;
    await part?.stop().catch(() => undefined);
    fail(`policy refused, nothing started:\n${(err as Error).message}`);
  }
  const workstation = resolveWorkstationUser({ shellUser: values['shell-user'], policyUser: policy.session.user });
  if (workstation.problem) say('no password is checked: no workstation user', { reason: workstation.problem });
  // A subuid/subgid grant over the sandboxes' own uids (ownUids.ts): said once, skipped at each run.
  for (const overlap of ownUidOverlaps()) say(overlap);
  const hostSound = hostSoundOf(workstation.user, values['audio-server']);
  // The part's staging area: a tmpfs of its own, sized for the largest transfer, which it cannot mount itself;
  // mounted beside the media mounts' preparation, before the socket answers the part.
  const staging = part ? mountStagingArea(join(runDir, PART_STAGING_DIR), stagingAreaBytes(policy), peer).catch((err: Error) => say('no staging tmpfs for the cloison part', { reason: err.message })) : null;
  // The media root made shared before any cage binds its level's folder (the root supervisor's prepareUsb does it there).
  const media = new MediaMounts(mediaRootOf(runDir));
  await media.prepare(policy.levels.map((l) => l.id)).catch((err: Error) => say('USB keys unavailable: cannot prepare the media mounts', { reason: err.message }));
  // The policy read again on SIGHUP (an administrator's reload), never when the part asks: the manager's own file only.
  const policyReload = new ManagerPolicyReload({ file: policyFile, text: policyText, ...(partReader ? { partReader } : {}), journal, apply: (next) => applyPolicy(next), log: say });
  const executorsAndStop = managerExecutors({
    policy: () => policy,
    stateDir,
    runDir,
    trainingKeysDir,
    workstationUser: workstation.user,
    hostSound: () => hostSound,
    cages,
    part: () => (part?.ready ? part : null),
    onSleep: () => journal.append('session.sleep', 'supervisor', {}),
    // Cages bind their level's card folder, the part's (cageCardFolder.ts).
    partUid: peer.uid,
    log: say,
    policyReload: policyReload.executor(),
    policyCurrent: () => policyReload.current(), // the part's one reading of the policy: the manager's text
    journal,
  });
  const { executors, startCage, stop, policyReloaded } = executorsAndStop;
  partEnded = executorsAndStop.partEnded;
  const server = new CageManagerServer({
    socketPath,
    peerUid: peer.uid,
    peerGid: peer.gid,
    journal,
    authorization: { policy: () => policy, stateDir, runDir, trainingKeysDir, holdsCage: cages.holds, workstationUser: workstation.user?.name ?? null },
    executors,
  });
  await staging;
  await server.listen();
  releaseHup(() => onManagerSighup({ reload: () => policyReload.reload('SIGHUP'), partPid: () => (part?.ready ? part.pid : null), owe: () => (hupOwed = true), log: say }));
  // Where `cloison policy reload` (root) finds this manager to signal, and its journal for the verdict.
  writeManagerWhereabouts(runDir, join(stateDir, MANAGER_JOURNAL_FILE));
  // The cages started here while the part starts (its first cage.start of each takes its cage, cageStartExecutor.ts):
  // for the supervisor's own part only (a test's --part script asks when it wants), not for a training session.
  // Before any request of the part is read: this runs on from listen() without yielding to its connection.
  if (part && !values.part && !values.training) startCages(policy, startCage, journal);
  function applyPolicy(next: Policy): void {
    policy = next;
    policyReloaded();
    // A level the policy no longer names keeps nothing: its cage is stopped here (the part may still stop or wait for it meanwhile).
    for (const level of cages.levels()) {
      if (policy.levels.some((l) => l.id === level)) continue;
      void cages.cage(level)?.stop().then(() => say('cage of a dropped level stopped', { level }), (err: Error) => say('cage stop failed', { level, reason: err.message }));
    }
  }
  let stopping = false;
  // Hoisted for the part's messages, which may come before the signals are set up.
  shutdown = (signal: string, status = 0) => {
    if (stopping) return;
    stopping = true;
    removeManagerWhereabouts(runDir);
    // A kept stop first asks whether the machine is going down (keptCagesStop.ts): then nothing would adopt the cages.
    const keepAsked = keepsCages(signal, values['keep-cages-on-stop'] === true);
    void (keepAsked ? machineStopping() : Promise.resolve(false))
      .then((machine) => {
        const keepCages = keepsCages(signal, keepAsked, machine);
        say('stopping', { signal, keepCages, ...(machine ? { machineStopping: true } : {}) });
        return keepCages ? stopKeepingCages() : stopAll();
      })
      .then(
        () => process.exit(status),
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
    // The cages are stopped even if the part's stop fails; it has the time its applications' quitting takes (partStopGrace.ts).
    await part?.stop(partStopGraceMs(policy.levels)).catch((err: Error) => say('cloison part stop failed', { reason: err.message }));
    if (part) await unmountStagingArea(join(runDir, PART_STAGING_DIR)).catch(() => undefined);
    // A start under way answers first (its driver's own time limit), then its cage is stopped too.
    for (let waited = 0; cages.levels().some((level) => cages.state(level) === 'starting' || cages.state(level) === 'mounting') && waited < 60_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    const levels = cages.levels();
    const outcomes = await Promise.allSettled(levels.map((level) => cages.cage(level)?.stop()));
    outcomes.forEach((o, i) => say(o.status === 'fulfilled' ? 'cage stopped' : 'cage stop failed', { level: levels[i], ...(o.status === 'rejected' ? { reason: (o.reason as Error).message } : {}) }));
    await stop();
    await media.unmountAllUnder().catch((err: Error) => say('media mounts not all unmounted', { reason: err.message }));
    await server.close();
    journal.close();
  };
  // The cages left to the next manager: no request answered any more (the part's own stop would
  // ask the cages to stop: seen, deploy/unitRestart.test.ts), then the part. The USB keys stay
  // mounted in their cages until the next manager's start takes the media root back (prepare).
  const stopKeepingCages = async () => {
    await server.close();
    await part?.stop().catch((err: Error) => say('cloison part stop failed', { reason: err.message }));
    if (part) await unmountStagingArea(join(runDir, PART_STAGING_DIR)).catch(() => undefined);
    await stop();
    journal.close();
    say('cages left running for the next cage manager', { levels: cages.levels() });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.stdout.write(`${JSON.stringify({ listening: true, socket: socketPath, policy: policyFile ?? DEFAULT_POLICY_NAME, workstationUser: workstation.user?.name ?? null })}\n`);
  if (partStarted) await partStarted;
  else say('no cloison part: --no-part');
}

/** Each bwrap level's cage started now, its start and outcome journaled as the manager's own (no vnc level: nothing to start). */
function startCages(policy: Policy, startCage: (level: string) => Promise<{ innerPid: number; adopted: boolean }>, journal: FileAuditJournal): void {
  // A journal that cannot write is said, and stops no cage (the requests' own journaling refuses them then).
  const record = (kind: string, fields: Record<string, string>) => {
    try {
      journal.append(kind, 'manager', fields);
    } catch (err) {
      say('journal not written', { kind, reason: (err as Error).message });
    }
  };
  for (const level of policy.levels.filter((l) => l.cage.driver === 'bwrap').map((l) => l.id)) {
    record('manager.cageStart', { level });
    say('cage started before the part asks', { level });
    startCage(level).then(
      ({ innerPid, adopted }) => say('cage running, for the part to take', { level, innerPid, adopted }),
      (err: Error) => {
        record('manager.cageStartFailed', { level, reason: err.message.slice(0, 300) });
        say('cage start failed: the part\'s cage.start starts it again', { level, reason: err.message });
      },
    );
  }
}

type Values = Record<string, string | boolean | string[] | undefined>;

const partStateDirOf = (values: Values, stateDir: string) => resolve((values['part-state-dir'] as string | undefined) ?? join(dirname(stateDir), `${basename(stateDir)}-broker`));
const partRunDirOf = (values: Values, runDir: string) => resolve((values['part-run-dir'] as string | undefined) ?? join(dirname(runDir), `${basename(runDir)}-broker`));

/**
 * The part's start: its own folders (made here, its account's), the groups it keeps, the shell's
 * settings. Its state folder is 0700 (the journal, its keys), its run folder 0711 (the shell's and
 * administrators' sockets in it, their own modes deciding who connects).
 */
function partStart(values: Values, manager: { managerSocket: string; stateDir: string; runDir: string; policyFile: string | null; peer: { uid: number; gid: number }; shellUser: string | null }): Record<string, unknown> {
  const stateDir = partStateDirOf(values, manager.stateDir);
  const runDir = partRunDirOf(values, manager.runDir);
  partFolder(stateDir, manager.peer, 0o700);
  partFolder(runDir, manager.peer, 0o711);
  const shellGroup = groupOf(values['shell-group'] as string | undefined, 'cloison-shell');
  const adminGroup = groupOf(values['admin-group'] as string | undefined, 'cloison-admin');
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) fail(`--port: not a port: ${String(values.port)}`);
  return {
    managerSocket: manager.managerSocket,
    // Where its requests' paths are: the manager's folders, which the part only names.
    stateDir: manager.stateDir,
    runDir: manager.runDir,
    // Its own: the journal, its keys, the shell's and administrators' sockets.
    partStateDir: stateDir,
    partRunDir: runDir,
    policyFile: manager.policyFile,
    groups: [shellGroup, adminGroup].filter((g): g is number => g !== undefined),
    shell: {
      ...(port !== undefined ? { port } : {}),
      ...(values['allow-origin'] ? { allowOrigins: values['allow-origin'] } : {}),
      browserShell: values['browser-shell'] === true,
      printLaunchUrl: values['print-launch-url'] === true,
      ...(values.renderer ? { rendererDir: resolve(values.renderer as string) } : {}),
      ...(shellGroup !== undefined ? { shellGroup } : {}),
      ...(adminGroup !== undefined ? { adminGroup } : {}),
      ...(manager.shellUser ? { shellUser: manager.shellUser } : {}),
      ...displayKeyboardOf(values),
      logLevel: (values['log-level'] as string | undefined) ?? process.env.CLOISON_LOG_LEVEL ?? 'info',
      ...(values['forward-journal'] ? { forwardJournal: values['forward-journal'] } : {}),
    },
    ...(values.training ? { training: trainingOf(values, stateDir, manager.peer) } : {}),
  };
}

/** --display-keyboard, checked here (XKB names only) before the part is given it; refused otherwise. */
function displayKeyboardOf(values: Values): { displayKeyboard?: { layout: string; variant: string } } {
  const given = values['display-keyboard'] as string | undefined;
  if (given === undefined) return {};
  const keyboard = parseDisplayKeyboard(given);
  if (!keyboard) fail(`--display-keyboard: not an XKB layout (LAYOUT or LAYOUT:VARIANT, such as fr or fr:bepo): ${JSON.stringify(given.slice(0, 80))}`);
  return { displayKeyboard: keyboard };
}

/**
 * The training session the part starts (main.ts's --training, --trainee, --report-dir): the part
 * reads the scenario and writes the report as `cloison`; a report folder named and missing is
 * made here as the part's, as its own folders are (never a folder that exists given away).
 */
function trainingOf(values: Values, partStateDir: string, peer: { uid: number; gid: number }): { scenarioFile: string; trainee: string; reportDir: string } {
  const named = values['report-dir'] as string | undefined;
  const reportDir = resolve(named ?? join(partStateDir, 'training-reports'));
  if (named && reportFolderToMake(reportDir)) partFolder(reportDir, peer, 0o750);
  return { scenarioFile: resolve(values.training as string), trainee: (values.trainee as string | undefined) ?? 'stagiaire', reportDir };
}

/**
 * A folder of the part's, made or taken over as root: a folder itself (not a link someone planted:
 * root would then give the link's target away), then its account's, with its mode.
 */
function partFolder(path: string, owner: { uid: number; gid: number }, mode: number): void {
  mkdirSync(path, { recursive: true, mode });
  // Opened without following a link at its name, then acted on through that descriptor: no name looked up twice.
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    fail(`the cloison part's folder ${path} is not a folder (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    fchownSync(fd, owner.uid, owner.gid);
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/** A group's id, by the name given or the package's group when it exists (as main.ts's sockets' groups). */
function groupOf(name: string | undefined, packageGroup: string): number | undefined {
  const wanted = name ?? packageGroup;
  const line = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.split(':')[0] === wanted);
  if (!line && name) say('no such group: the socket stays the part\'s only', { group: name });
  return line ? Number(line.split(':')[2]) : undefined;
}

/** What is logged about the part's messages, held to a budget (a part may send them without end). */
const partMessages = new PartMessageLog(say);

/** The part's announcements on stdout as the root supervisor's lines; whatever else it says, only its kind logged. */
function relay(message: CloisonPartMessage, partRunDir: string): void {
  if (message.type !== PART_ANNOUNCEMENT_TYPE) return partMessages.log('cloison part: message not acted on', { type: message.type.slice(0, 64) });
  const outcome = announcementLine(message, partRunDir);
  if ('refused' in outcome) return partMessages.log('cloison part: announcement refused', { reason: outcome.refused });
  process.stdout.write(`${outcome.line}\n`);
}

/** The workstation user's own PulseAudio/PipeWire socket, or the address given; none without a user or a server (as main.ts). */
function hostSoundOf(user: { uid: number; gid: number; name: string } | null, server: string | undefined): HostSoundTarget | null {
  if (!user) return null;
  const address = server ?? (existsSync(`/run/user/${user.uid}/pulse/native`) ? `unix:/run/user/${user.uid}/pulse/native` : null);
  if (!address) return null;
  return { server: address, uid: user.uid, gid: user.gid, home: account(user.name)?.home ?? '/nonexistent' };
}

/** The manager's run: called by its entry (managerEntry.ts, from its bundle cageManagerMain.cjs), or at once when this file is the program (tsx, the tests). */
export function runCageManager(): void {
  trimMallocFromNowOn(); // its start's free heap pages given back (system/mallocTrim.ts)
  main().catch((err: Error) => {
    process.stderr.write(`cloison-cage-manager: failed: ${err.message}\n`);
    process.exit(1);
  });
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) runCageManager();
