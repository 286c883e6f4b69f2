/**
 * The supervisor as the unprivileged `cloison` part (issue #29), already restricted by its entry
 * (cloisonPartEntry.ts): its start says where the manager listens, its own state and run folders
 * (`cloison`'s: the journal and its keys, the shell's and the administrators' sockets) and how the
 * manager was asked to serve the shell. It connects to the manager — started before the manager's
 * own start, it tries again until the manager's socket answers, which it does only once the
 * manager has read and checked the policy — builds the supervisor with
 * `manager` (every root act a request), says `ready` on its channel, and sends its
 * "listening" and "ready" announcements there: the manager prints them (partAnnouncement.ts).
 * SIGTERM (the manager's stop) stops it; its channel closing (the manager gone) ends it
 * (socketHandOver.ts's managerChannel).
 */
import { chmodSync, chownSync } from 'node:fs';
import { pino } from 'pino';
import { z } from 'zod';
import type { Policy } from '../shared/policy';
import { forwardTargetFrom } from './audit/journalForwarder';
import { connectManagerLink, liveRequester, type ManagerLink } from './cageManager/managerLink';
import { PART_ANNOUNCEMENT_TYPE, TRAINING_REFUSED_TYPE } from './cageManager/partAnnouncement';
import { managerChannel } from './cageManager/socketHandOver';
import { GATEWAY_WARM_UP_ROUNDS } from './gateway/gatewayNames';
import { policyFromManager } from './cageManager/policyTextFromManager';
import { DEFAULT_POLICY_NAME } from './policy/defaultPolicy';
import { PolicyError } from './policy/policyLoader';
import { defaultRendererDir } from './rendererDir';
import { earlyBrowserPart } from './browserPart/browserPartSpawn';
import type { EarlyPart } from './sandbox/partSpawn';
import { Supervisor } from './supervisor';
import { TrainingRefused } from './training/trainingDesk';
import { XKB_NAME } from '../shared/keyboardLayout';
import type { SupervisorOptions } from './supervisorOptions';
import { trimMallocFromNowOn } from './system/mallocTrim';

/** What the manager starts it with (managerMain.ts), beside its account and groups. */
const startSchema = z.object({
  managerSocket: z.string().min(1),
  /** The manager's folders, where the paths its requests name are. */
  stateDir: z.string().min(1),
  runDir: z.string().min(1),
  /** Its own, `cloison`'s: the journal and its keys; the shell's and administrators' sockets. */
  partStateDir: z.string().min(1),
  partRunDir: z.string().min(1),
  policyFile: z.string().min(1).nullable(),
  shell: z.object({
    port: z.number().int().min(0).max(65535).optional(),
    allowOrigins: z.array(z.string()).optional(),
    browserShell: z.boolean(),
    printLaunchUrl: z.boolean(),
    rendererDir: z.string().nullable().optional(),
    shellGroup: z.number().int().positive().optional(),
    adminGroup: z.number().int().positive().optional(),
    shellUser: z.string().optional(),
    /** The layout of the display the shell opened on (the manager's --display-keyboard, npm start's reading). */
    displayKeyboard: z.object({ layout: z.string().regex(XKB_NAME), variant: z.string().regex(XKB_NAME).or(z.literal('')) }).optional(),
    logLevel: z.string().optional(),
    forwardJournal: z.string().optional(),
  }),
  /** A training session (the manager's --training): the scenario read and the report written as cloison. */
  training: z.object({ scenarioFile: z.string().min(1), trainee: z.string().min(1), reportDir: z.string().min(1) }).optional(),
});
export type CloisonPartStart = z.infer<typeof startSchema>;

export async function runCloisonPart(raw: Record<string, unknown>): Promise<void> {
  trimMallocFromNowOn(); // its start's free heap pages given back (system/mallocTrim.ts)
  const channel = managerChannel();
  // Before `ready`, the manager's start of the part fails with this (partProcess.ts); it ends
  // once the channel has had time to carry it.
  const failed = (error: string): Promise<never> => {
    channel.send({ type: 'failed', error: error.slice(0, 1000) });
    process.stderr.write(`cloison part: ${error}\n`);
    return new Promise<never>(() => setTimeout(() => process.exit(2), 100));
  };
  const parsed = startSchema.safeParse(raw);
  if (!parsed.success) return failed(`its start is not one: ${parsed.error.message}`);
  const start = parsed.data;
  const { shell } = start;
  const log = pino({ level: shell.logLevel ?? 'info' }, pino.destination(2));
  const logFields = (msg: string, fields?: Record<string, unknown>): void => {
    const { level, ...rest } = fields ?? {};
    log.info(level === undefined ? rest : { cage: level, ...rest }, msg);
  };
  // What the browser part needs before it listens, none of it the policy's (browserPartSpawn.ts).
  const browserSettings = {
    rendererDir: shell.rendererDir ?? defaultRendererDir(import.meta.url),
    shell: shell.browserShell,
    ...(shell.allowOrigins ? { extraOrigins: shell.allowOrigins } : {}),
    warmUp: { rounds: GATEWAY_WARM_UP_ROUNDS, afterMs: 1000 },
    runDir: start.partRunDir,
    log: logFields,
  };
  // The first act (#29): its Node start and module loading run beside the link, the policy and the
  // supervisor's build; the supervisor's start then only tells it the policy's part, and it listens.
  let browserPartEarly: EarlyPart | undefined;
  try {
    browserPartEarly = earlyBrowserPart(browserSettings);
  } catch (err) {
    log.warn({ error: (err as Error).message }, 'browser part not started early: the supervisor starts it');
  }
  const failedEarly = (error: string): Promise<never> => {
    browserPartEarly?.discard();
    return failed(error);
  };
  let link: ManagerLink;
  try {
    // The link connects again after a cut or a manager restart; the cages' homes and keys are in the manager's folders.
    link = await connectManagerLink(start.managerSocket, { waitForListener: true, managerDirs: { stateDir: start.stateDir, runDir: start.runDir } });
  } catch (err) {
    return failedEarly(`the cage manager's socket did not answer: ${(err as Error).message}`);
  }
  let policy: Policy;
  let policyText: string;
  try {
    // The manager's text, never the file (#29, one reading): a restarted part runs what root runs now.
    ({ policy, text: policyText } = await policyFromManager(liveRequester(link), start.policyFile ?? DEFAULT_POLICY_NAME));
  } catch (err) {
    return failedEarly(`policy refused, nothing started: ${(err as Error).message}`);
  }
  const options: SupervisorOptions = {
    policy,
    policySource: start.policyFile ?? DEFAULT_POLICY_NAME,
    policyText,
    stateDir: start.partStateDir,
    runDir: browserSettings.runDir,
    rendererDir: browserSettings.rendererDir,
    ...(shell.port !== undefined ? { port: shell.port } : {}),
    ...(browserSettings.extraOrigins ? { extraOrigins: browserSettings.extraOrigins } : {}),
    browserShell: browserSettings.shell,
    ...(shell.shellUser ? { shellUser: shell.shellUser } : {}),
    ...(shell.displayKeyboard ? { displayKeyboard: shell.displayKeyboard } : {}),
    // Not given as shellGroup/adminGroup: listenRestricted gives the socket to root and the group,
    // which only root may do; the part gives its own sockets to the groups below (shareSockets).
    // The host's sound is the manager's (sound.host): nothing of it here.
    hostSound: null,
    forwardJournal: forwardTargetFrom(shell.forwardJournal ?? 'auto'),
    gatewayWarmUp: browserSettings.warmUp,
    manager: link,
    ...(start.training ? { training: start.training } : {}),
    ...(browserPartEarly ? { browserPartEarly } : {}),
    log: logFields,
  };
  const supervisor = new Supervisor(options);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await supervisor.stop().catch((err: Error) => log.error({ error: err.message }, 'stop failed'));
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // The manager passes its SIGHUP on once it took the policy: the part asks for the manager's text (policy.current).
  process.on('SIGHUP', () => {
    supervisor.reloadPolicy().then(
      (outcome) => {
        if (outcome.decision === 'refused') log.error({ reason: outcome.reason }, 'new policy refused; the running policy stays');
        else log.warn({ decision: outcome.decision, changes: outcome.changes, restarted: outcome.restarted }, 'policy reloaded');
      },
      // A failed reload must not end the part with an unhandled rejection: the running policy stays.
      (err: Error) => log.error({ error: err.message }, 'policy reload failed; the running policy stays'),
    );
  });
  channel.send({ type: 'ready' });
  const announce = (state: 'listening' | 'ready', launch: { url: string } | null) =>
    channel.send({
      type: PART_ANNOUNCEMENT_TYPE,
      state,
      url: launch?.url ?? null,
      origin: supervisor.browserHost?.origin ?? null,
      rpcSocket: supervisor.rpcSocketPath,
      cages: [...supervisor.cages.values()].map((c) => c.state),
    });
  // Both sockets listen (0600, the part's) before the shell may connect: then their groups have them.
  const listening = () => {
    shareSocket(supervisor.rpcSocketPath, shell.shellGroup);
    shareSocket(supervisor.adminSocketPath, shell.adminGroup);
    announce('listening', shell.printLaunchUrl ? supervisor.launchUrl() : null);
  };
  try {
    await supervisor.start({ onListening: listening });
  } catch (err) {
    if (stopping) return void log.info({ error: (err as Error).message }, 'start ended by the stop');
    stopping = true;
    log.error({ error: (err as Error).message }, 'start failed');
    await supervisor.stop().catch(() => undefined);
    // A session refused (its scenario, the policy's training: allowed) is refused again at every
    // start: the manager is told, says it and stops, instead of starting the part again.
    if (err instanceof TrainingRefused || err instanceof PolicyError) {
      channel.send({ type: TRAINING_REFUSED_TYPE, reason: (err as Error).message.slice(0, 1000) });
      return new Promise<never>(() => setTimeout(() => process.exit(2), 100));
    }
    process.exit(1);
  }
  announce('ready', null);
}


/**
 * A socket of the part's given to a group it holds (0660: the kiosk users' for the shell's, the
 * administrators' for the admin socket), as the root supervisor's are; without one it stays 0600.
 * The owner is left as it is (-1): the part cannot give a file to root.
 */
function shareSocket(path: string, group: number | undefined): void {
  if (group === undefined) return;
  chownSync(path, -1, group);
  chmodSync(path, 0o660);
}
