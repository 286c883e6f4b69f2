/**
 * The cage manager's unprivileged part (the `cloison` part, docs/least-privilege.md), started the
 * one way every part is (sandbox/partProcess.ts), as the browser and sound parts are: its own
 * control group, killed whole when it ends (a fork in a session of its own included); its stderr
 * a pipe of ours, marked with its name, escaped and bounded (partStderr.ts); its channel on fds 3,
 * 4 and 5 with pipes where root reads; as root, under setpriv with no_new_privs and a bounding set
 * holding only what its own drop needs, then the part drops to `cloison` itself before it reads
 * anything (cloisonPartRestriction.ts: no capability, its own syscall filter
 * cloisonPartSeccompProgram, the service's less the namespace calls its bwrap needs); started
 * again if it ends while the manager runs.
 *
 * Its messages are untrusted: an object with a short `type`, or refused (and counted).
 */
import { createCageCgroup, openCageCgroup } from '../cages/cageCgroup';
import type { PartLimits } from '../sandbox/partCgroup';
import { UnprivilegedPart, type Parsed } from '../sandbox/partProcess';
import { PART_ANNOUNCEMENT_TYPE } from './partAnnouncement';

/** The environment variable its start is in: `{ account, ...start }` (cloisonPartRestriction.ts reads it). */
export const CLOISON_PART_START_ENV = 'CLOISON_PART_START';
/** What the part may send the manager in one frame. */
const MAX_PART_MESSAGE_BYTES = 64 * 1024;
/** Its group's limits: it will hold the brokers, the gateway and the HTTP host (the browser part's today). */
const CLOISON_PART_LIMITS: PartLimits = { memoryBytes: 1024 * 2 ** 20, tasks: 256 };

export type CloisonPartMessage = { type: string } & Record<string, unknown>;

export interface CloisonPartOptions {
  /** Its code: a bundle beside the manager's, its source through tsx, or a script (tests). */
  command: { callerUrl: string; source: string; bundle: string; script?: string };
  /** The `cloison` user, or null when it is missing (then, as root, the part does not start). */
  account: () => { uid: number; gid: number } | null;
  /** What else it is started with (its manager's socket…), JSON in its environment beside its account. */
  start?: Record<string, unknown>;
  /** Every message once it said `ready`. */
  message?: (message: CloisonPartMessage) => void;
  restarting?: (reason: string) => void;
  /** It said `ready` (each start of it). */
  started?: () => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Where its stderr's marked lines go (the manager's stderr by default). */
  stderr?: (line: string) => void;
  limits?: PartLimits;
}

function parse(raw: unknown): Parsed<CloisonPartMessage> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { success: false, issue: 'not an object' };
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string' || type.length === 0 || type.length > 64) return { success: false, issue: 'no type' };
  return { success: true, data: raw as CloisonPartMessage };
}

export function cloisonPart(options: CloisonPartOptions): UnprivilegedPart<CloisonPartMessage, unknown> {
  return new UnprivilegedPart<CloisonPartMessage, unknown>({
    name: 'cloison part',
    command: options.command,
    startEnv: CLOISON_PART_START_ENV,
    account: options.account,
    start: (account) => ({ ...options.start, account }),
    lang: process.env.LANG ?? 'C.UTF-8',
    maxMessageBytes: MAX_PART_MESSAGE_BYTES,
    limits: options.limits ?? CLOISON_PART_LIMITS,
    controlGroups: { create: createCageCgroup, open: openCageCgroup },
    // The sound part it starts gets a group of its own below its group, with its own limits.
    delegate: true,
    parse,
    isReady: (message) => message.type === 'ready',
    // Its start ahead of the cages' the manager started beside it (4× their share), until its
    // browser part listens: the shell's address waits for that, not for the cages (bench/RESULTS.md).
    startCpuWeight: 400,
    startOver: (message) => message.type === PART_ANNOUNCEMENT_TYPE,
    started: () => options.started?.(),
    message: options.message ?? (() => undefined),
    gone: () => undefined,
    restarting: options.restarting ?? (() => undefined),
    ...(options.log ? { log: options.log } : {}),
    ...(options.stderr ? { stderr: options.stderr } : {}),
  });
}
