/**
 * Supervisor entry point: parses the command line, loads the policy (refusing a bad one before
 * anything starts), starts the supervisor and prints two JSON lines on stdout: "listening" (a shell
 * may connect) and "ready" (every cage started or failed).
 *
 *   cloison-supervisor [--policy FILE] [--state-dir DIR] [--run-dir DIR] [--port N] [--renderer DIR]
 *                      [--admin-group NAME] [--shell-group NAME] [--forward-journal auto|journald|syslog|syslog:PATH|none]
 *                      [--browser-shell [--print-launch-url]] [--shell-user NAME] [--audio-server ADDRESS]
 *                      [--training SCENARIO.yaml [--trainee NAME] [--report-dir DIR]] [--keep-cages-on-stop]
 *                      [--display-keyboard LAYOUT[:VARIANT]]
 */
import { existsSync } from 'node:fs';
import { parseDisplayKeyboard } from '../shared/keyboardLayout';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { DEFAULT_POLICY_NAME, DEFAULT_POLICY_YAML } from './policy/defaultPolicy';
import { loadDefaultPolicy, readPolicyFile, PolicyError } from './policy/policyLoader';
import { Supervisor, TrainingRefused } from './supervisor';
import type { SupervisorOptions } from './supervisorOptions';
import { groupId } from './admin/adminServer';
import { forwardTargetFrom } from './audit/journalForwarder';
import { account } from './system/accounts';
import type { HostSoundTarget } from './audio/hostSound';
import { GATEWAY_WARM_UP_ROUNDS } from './gateway/gatewayWarmUp';
import { restrictRootPart } from './sandbox/rootPartRestriction';
import { defaultRendererDir } from './rendererDir';
import { splitStateLeftBehind } from './cageManager/splitStateLeftBehind';
import { keepsCages, machineStopping } from './cageManager/keptCagesStop';
import { ownUidOverlaps } from './system/ownUids';

function defaultStateDir(): string {
  if (process.env.CLOISON_STATE_DIR) return process.env.CLOISON_STATE_DIR;
  return join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'cloison');
}

function defaultRunDir(): string {
  if (process.env.CLOISON_RUN_DIR) return process.env.CLOISON_RUN_DIR;
  if (process.env.XDG_RUNTIME_DIR) return join(process.env.XDG_RUNTIME_DIR, 'cloison');
  return process.getuid?.() === 0 ? '/run/cloison' : join(defaultStateDir(), 'run');
}


async function main(): Promise<void> {
  // Before anything else: as root, only the root requests' capabilities and a filter on host
  // administration, inherited by all it runs (the first time, the process executes itself again).
  restrictRootPart();
  const { values } = parseArgs({
    options: {
      policy: { type: 'string' },
      'state-dir': { type: 'string' },
      'run-dir': { type: 'string' },
      port: { type: 'string' },
      renderer: { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
      'log-level': { type: 'string' },
      'admin-group': { type: 'string' },
      'shell-group': { type: 'string' },
      'forward-journal': { type: 'string' },
      'browser-shell': { type: 'boolean', default: false },
      'print-launch-url': { type: 'boolean', default: false },
      'shell-user': { type: 'string' },
      'audio-server': { type: 'string' },
      training: { type: 'string' },
      trainee: { type: 'string' },
      'report-dir': { type: 'string' },
      // SIGTERM leaves the cages running for the next supervisor to re-adopt (the unit's restarts, upgrades).
      'keep-cages-on-stop': { type: 'boolean', default: false },
      // The layout of the display the shell opened on, as npm start read it there (keyboard/keyboardLayout.ts).
      'display-keyboard': { type: 'string' },
    },
    strict: true,
  });
  const log = pino({ level: values['log-level'] ?? process.env.CLOISON_LOG_LEVEL ?? 'info' }, pino.destination(2));

  let policy;
  let policySource: string;
  let policyText: string;
  try {
    if (values.policy) {
      policySource = resolve(values.policy);
      ({ policy, text: policyText } = readPolicyFile(policySource));
    } else {
      policySource = DEFAULT_POLICY_NAME;
      policy = loadDefaultPolicy();
      policyText = DEFAULT_POLICY_YAML;
    }
  } catch (err) {
    if (err instanceof PolicyError) {
      process.stderr.write(`cloison: policy refused, nothing started:\n${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  const displayKeyboard = values['display-keyboard'] === undefined ? null : parseDisplayKeyboard(values['display-keyboard']);
  if (values['display-keyboard'] !== undefined && !displayKeyboard) {
    process.stderr.write(`cloison: --display-keyboard: not an XKB layout (LAYOUT or LAYOUT:VARIANT, such as fr or fr:bepo): ${JSON.stringify(values['display-keyboard'].slice(0, 80))}\n`);
    process.exit(2);
  }
  const stateDir = resolve(values['state-dir'] ?? defaultStateDir());
  // Back from the split: the part's state is not taken back (splitStateLeftBehind.ts); said, then a fresh start.
  const leftBehind = splitStateLeftBehind(stateDir);
  if (leftBehind) log.warn({ partStateDir: `${stateDir}-broker` }, leftBehind);
  // A subuid/subgid grant over the sandboxes' own uids (ownUids.ts): said once, skipped at each run.
  for (const overlap of ownUidOverlaps()) log.warn(overlap);
  const options: SupervisorOptions = {
    policy,
    policySource,
    policyText,
    stateDir,
    runDir: resolve(values['run-dir'] ?? defaultRunDir()),
    rendererDir: values.renderer ? resolve(values.renderer) : defaultRendererDir(import.meta.url),
    ...(values.port ? { port: Number(values.port) } : {}),
    ...(values['allow-origin'] ? { extraOrigins: values['allow-origin'] } : {}),
    browserShell: values['browser-shell'],
    ...(values['shell-user'] ? { shellUser: values['shell-user'] } : {}),
    ...(displayKeyboard ? { displayKeyboard } : {}),
    hostSound: hostSoundOf(values['shell-user'], values['audio-server']),
    ...(values.training
      ? { training: { scenarioFile: resolve(values.training), trainee: values.trainee ?? 'stagiaire', reportDir: resolve(values['report-dir'] ?? join(stateDir, 'training-reports')) } }
      : {}),
    ...groupOption('adminGroup', values['admin-group'], 'cloison-admin', log),
    ...groupOption('shellGroup', values['shell-group'], 'cloison-shell', log),
    forwardJournal: forwardTargetFrom(values['forward-journal'] ?? 'auto'),
    // Once both cages are on screen (a second after start-up), before a user's first clicks.
    gatewayWarmUp: { rounds: GATEWAY_WARM_UP_ROUNDS, afterMs: 1000 },
    // pino owns the "level" key (its severity): a cage's level is logged as "cage".
    log: (msg, fields) => {
      const { level, ...rest } = fields ?? {};
      log.info(level === undefined ? rest : { cage: level, ...rest }, msg);
    },
  };
  const supervisor = new Supervisor(options);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const keepAsked = keepsCages(signal, values['keep-cages-on-stop'] === true);
    const machine = keepAsked && (await machineStopping());
    log.info({ signal, ...(machine ? { machineStopping: true } : {}) }, 'stopping');
    await supervisor.stop({ keepCages: keepsCages(signal, keepAsked, machine) });
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // SIGHUP (systemctl reload): re-read the policy. An invalid one is refused and the running one
  // stays; a valid one applies at once, restarting only the cages whose definition changed.
  process.on('SIGHUP', () => {
    void supervisor.reloadPolicy().then((outcome) => {
      if (outcome.decision === 'refused') log.error({ reason: outcome.reason }, 'new policy refused; the running policy stays');
      else log.warn({ decision: outcome.decision, changes: outcome.changes, restarted: outcome.restarted }, 'policy reloaded');
    });
  });

  const host = () => supervisor.browserHost;
  // Two lines on stdout: "listening" as soon as a shell can connect (npm start opens its window
  // then, while the cages start), and "ready" once every cage has started or failed.
  // A launch address opens the desktops: printed only when asked for (npm start, --no-window,
  // the tests), never by the unit, whose stdout is the system journal.
  const announce = (state: 'listening' | 'ready', launch: { url: string } | null) =>
    process.stdout.write(
      JSON.stringify({
        [state]: true,
        url: launch?.url ?? null,
        origin: host()?.origin ?? null,
        rpcSocket: supervisor.rpcSocketPath,
        cages: [...supervisor.cages.values()].map((c) => c.state),
      }) + '\n',
    );
  try {
    await supervisor.start({ onListening: () => announce('listening', values['print-launch-url'] ? supervisor.launchUrl() : null) });
  } catch (err) {
    // A stop asked for while starting (Ctrl+C as the shell opens) makes what was still starting
    // fail (a part stopped before it was ready): the stop under way ends the process once every
    // cage is stopped; exiting here would leave them running.
    if (stopping) return void log.info({ error: (err as Error).message }, 'start ended by the stop');
    if (err instanceof TrainingRefused || err instanceof PolicyError) {
      process.stderr.write(`cloison: training refused, nothing started:\n${err.message}\n`);
      await supervisor.stop();
      process.exit(2);
    }
    // What did start (cages, which outlive a supervisor on purpose, their mounts, the parts) is
    // stopped before the process ends with the failure.
    stopping = true;
    await supervisor.stop();
    throw err;
  }
  announce('ready', null);
}

/**
 * The host's sound server and who reaches it: the shell's user, at the address given or at that
 * user's own PulseAudio/PipeWire socket; none when neither exists (the cages' sound is discarded).
 */
function hostSoundOf(user: string | undefined, server: string | undefined): HostSoundTarget | null {
  const who = user ? account(user) : null;
  const address = server ?? (who && existsSync(`/run/user/${who.uid}/pulse/native`) ? `unix:/run/user/${who.uid}/pulse/native` : null);
  if (!address) return null;
  return { server: address, uid: who?.uid ?? 0, gid: who?.gid ?? 0, home: who?.home ?? '/root' };
}

/** A socket's group: the named one, else the package's group when it exists; none = root-only. */
function groupOption<K extends 'adminGroup' | 'shellGroup'>(key: K, name: string | undefined, packageGroup: string, log: { warn: (o: object, m: string) => void }): Partial<Record<K, number>> {
  const gid = groupId(name ?? packageGroup);
  if (gid === undefined && name) log.warn({ group: name }, 'no such group: the socket stays root-only');
  return gid === undefined ? {} : ({ [key]: gid } as Partial<Record<K, number>>);
}

main().catch((err: Error) => {
  process.stderr.write(`cloison: supervisor failed: ${err.message}\n`);
  process.exit(1);
});
