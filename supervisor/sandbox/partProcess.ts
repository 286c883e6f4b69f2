/**
 * One unprivileged part as the root part runs it (the browser part, the sound part): started under
 * setpriv (unprivilegedPart.ts) with its start in its environment and its channel (partChannel.ts)
 * as fds 3, 4 and 5; ready once it says so; each message it sends parsed as untrusted before the part's
 * own code sees it; started again if it ends while the supervisor runs (RestartBackoff). What each
 * part does with its messages is its own (browserPart.ts, soundPart.ts).
 *
 * Its stderr reaches the supervisor's log marked with its name, escaped and bounded (partStderr.ts).
 * As root, each start runs in a control group of its own (partCgroup.ts), with the part's memory
 * and task limits: when the part ends, whatever it forked ends with it, before it starts again.
 * Started by an unprivileged part whose group root gave it (the sound part by the cloison part,
 * `delegate`), it gets one too, below that part's (cgroup v1); otherwise it shares its parent's.
 *
 * A part that breaks the channel (a frame over the bound, not JSON, a descriptor it does not take)
 * is killed at once, and its restart journaled with why; messages that frame well but fail their
 * schema are dropped and counted, and the part killed only after MAX_BAD_MESSAGES of them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import { createPartCgroup, delegatedToThisProcess, delegatePartCgroup, setGroupCpuWeight, DEFAULT_CPU_WEIGHT, type ControlGroup, type ControlGroups, type PartLimits } from './partCgroup';
import { Socket } from 'node:net';
import { pipe } from './descriptorPassing';
import { partChannelDescriptors, RootChannelEnd } from './partChannel';
import { PartStderr } from './partStderr';
import { RestartBackoff, unprivilegedPartCommand } from './unprivilegedPart';

/** How long a part's start's CPU weight lasts at most (startCpuWeight). */
const START_WEIGHT_LIMIT_MS = 15_000;
/** How long a part has to say it is ready. */
const START_TIMEOUT_MS = 30_000;
/** Messages from the part that did not parse, before it is stopped (and started again). */
const MAX_BAD_MESSAGES = 100;

export type Parsed<T> = { success: true; data: T } | { success: false; issue: string };

export interface PartDefinition<ToRoot extends { type: string }> {
  /** "browser part", "sound part": in logs and errors. */
  name: string;
  command: { callerUrl: string; source: string; bundle: string; script?: string };
  /** The environment variable its start is given in (JSON), and that start, built for each start. */
  startEnv: string;
  /** Who it becomes when started by root (the `cloison` user), or null if that user is missing. */
  account: () => { uid: number; gid: number } | null;
  start: (account: { uid: number; gid: number } | null) => unknown;
  lang: string;
  /** The largest frame it may send. */
  maxMessageBytes: number;
  /**
   * Its group's CPU weight while it starts (100, the cages' default, from then on): a part whose
   * start the shell waits for (the cloison part: its browser part, below its group, serves the
   * shell's address) gets ahead of the cages' own start. Until `startOver` says so, or
   * START_WEIGHT_LIMIT_MS at most: a part that never says so does not keep it.
   */
  startCpuWeight?: number;
  /** The message that ends its start's CPU weight (`isReady`'s by default). */
  startOver?: (message: ToRoot) => boolean;
  /** Its control group's limits (as root: the group holds it and all it forks), made by the cages' code. */
  limits: PartLimits;
  controlGroups: ControlGroups;
  /** As root: its group's folders are given to its account, so the parts it starts itself get groups of their own below it (partCgroup.ts delegatePartCgroup). */
  delegate?: boolean;
  parse: (raw: unknown) => Parsed<ToRoot>;
  /** Before it is ready: whether this message says it now is. */
  isReady: (message: ToRoot) => boolean;
  /** It is ready (`ready` is true, messages may be sent): that message. */
  started: (message: ToRoot) => void;
  /** Every message once it is ready. */
  message: (message: ToRoot) => void;
  /** It ended (whatever follows). */
  gone: () => void;
  /** It ended while running and is started again: why (journaled by the part's owner). */
  restarting: (reason: string) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Where its stderr's lines go, marked, escaped and bounded (partStderr.ts); the supervisor's stderr by default. */
  stderr?: (line: string) => void;
}

export class UnprivilegedPart<ToRoot extends { type: string }, ToPart> {
  private child: ChildProcess | null = null;
  private cgroup: ControlGroup | null = null;
  private channel: RootChannelEnd<ToPart> | null = null;
  private running = false;
  private stopping = false;
  private readonly backoff = new RestartBackoff({
    start: () => this.spawnPart(),
    stopping: () => this.stopping,
    failed: (err) => this.def.log?.(`${this.def.name} did not start again`, { error: err.message }),
  });
  /** Messages from the part refused by their schema (a test reads it). */
  refused = 0;

  constructor(private readonly def: PartDefinition<ToRoot>) {}

  /** Starts the part; resolves once it says it is ready. */
  start(): Promise<void> {
    this.stopping = false;
    return this.spawnPart();
  }

  /** The folders of its current control group (tests), or [] (not root and no group given to us, no controller). */
  get cgroupDirs(): string[] {
    return this.cgroup?.dirs ?? [];
  }

  /** The part's pid (tests), or null between two starts. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get ready(): boolean {
    return this.running;
  }

  /** Sends a message, with a descriptor (the caller closes its own copy after); false if not sent. */
  send(message: ToPart, fd?: number): boolean {
    return this.channel?.send(message, fd) ?? false;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => (clearTimeout(timer), resolve()));
    });
  }

  /** The group at its start's CPU weight (startCpuWeight), and what puts it back, once, at the latest after START_WEIGHT_LIMIT_MS. */
  private weighStart(cgroup: ControlGroup | null): () => void {
    const weight = this.def.startCpuWeight;
    if (!cgroup || !weight) return () => undefined;
    const set = (to: number) => {
      try {
        setGroupCpuWeight(cgroup, to);
      } catch (err) {
        // A group removed meanwhile (the part ended): nothing left to weigh.
        this.def.log?.(`${this.def.name}: its CPU weight not set`, { reason: (err as Error).message });
      }
    };
    set(weight);
    let over = false;
    const end = () => {
      if (over) return;
      over = true;
      clearTimeout(limit);
      set(DEFAULT_CPU_WEIGHT);
    };
    const limit = setTimeout(end, START_WEIGHT_LIMIT_MS);
    limit.unref();
    return end;
  }

  /** This start's control group (the last one's removed first); null, and logged, where the host has none. */
  private freshCgroup(account: { uid: number; gid: number } | null): ControlGroup | null {
    this.cgroup?.remove();
    const made = createPartCgroup(this.def.controlGroups, this.def.name, this.def.limits);
    if (!made.cgroup) this.def.log?.(`${this.def.name}: no control group of its own, what it forks may outlive it`, { reason: made.reason });
    this.cgroup = made.cgroup;
    if (made.cgroup && this.def.delegate && account) {
      try {
        this.cgroup = delegatePartCgroup(this.def.controlGroups, made.cgroup, account);
      } catch (err) {
        // Its own group and limits stay; the parts it starts share them.
        this.def.log?.(`${this.def.name}: its control group not given to it, the parts it starts share it`, { reason: (err as Error).message });
      }
    }
    return this.cgroup;
  }

  /** One start: whatever throws while building it (the part's folder, its start) is its rejection. */
  private spawnPart(): Promise<void> {
    try {
      return this.spawnOnce();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private spawnOnce(): Promise<void> {
    const { name } = this.def;
    const root = process.getuid?.() === 0;
    const account = root ? this.def.account() : null;
    if (root && !account) return Promise.reject(new Error(`the system user "cloison" is missing (scripts/setup.sh and the package make it): the ${name} does not run as root`));
    const { command, args } = unprivilegedPartCommand(this.def.command, root);
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: this.def.lang, [this.def.startEnv]: JSON.stringify(this.def.start(account)) };
    const ends = partChannelDescriptors();
    // Its stderr a pipe of ours, not stdio 'pipe' (a Unix socketpair: a descriptor attached there
    // would be closed in the root part's thread, as on fd 3, see partChannel.ts).
    let errorEnds: [number, number] | null = null;
    let child: ChildProcess;
    let cgroup: ControlGroup | null = null;
    try {
      errorEnds = pipe();
      // Not root: a group of its own only below a parent's group given to us (the cloison part's); else it shares ours.
      cgroup = root || delegatedToThisProcess() ? this.freshCgroup(account) : null;
      const argv = [...(cgroup?.joinPrefix ?? []), command, ...args];
      // A process group of its own: a terminal's Ctrl+C or a group's SIGTERM is for the root part,
      // which stops it (stop()); the root part gone, its channel closes and it ends.
      child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'ignore', errorEnds[1], ...ends.partStdio], env });
    } catch (err) {
      ends.closeRootEnds();
      if (errorEnds) closeSync(errorEnds[0]);
      cgroup?.remove();
      if (this.cgroup === cgroup) this.cgroup = null;
      throw err;
    } finally {
      ends.closePartEnds();
      if (errorEnds) closeSync(errorEnds[1]);
    }
    this.child = child;
    this.running = false;
    const stderr = new PartStderr(name, this.def.stderr ?? ((line) => void process.stderr.write(`${line}\n`)));
    const errors = new Socket({ fd: errorEnds[0], readable: true, writable: false });
    errors.on('data', (chunk: Buffer) => stderr.push(chunk));
    errors.on('end', () => stderr.end());
    errors.on('error', () => undefined);
    child.once('exit', () => setTimeout(() => errors.destroy(), 1000).unref()); // what it wrote last, read first
    const endStartWeight = this.weighStart(cgroup);
    // This start's own state: an older child's late messages or exit act on nothing of a newer one.
    const current = () => this.child === child;
    let running = false;
    let over = false;
    let bad = 0;
    let misbehaviour: string | null = null;
    let channel: RootChannelEnd<ToPart> | null = null;
    const misbehaved = (reason: string) => {
      misbehaviour ??= reason;
      this.def.log?.(`${name} misbehaved: stopping it`, { reason });
      channel?.close(); // nothing more is read from it, before it is even gone
      child.kill('SIGKILL');
    };
    return new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => {
        over = true;
        clearTimeout(timer);
        channel?.close();
        child.kill('SIGKILL');
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`the ${name} was not ready within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      const received = (raw: unknown) => {
        if (over || !current()) return;
        const parsed = this.def.parse(raw);
        if (!parsed.success) {
          this.refused++;
          if (++bad === MAX_BAD_MESSAGES) misbehaved(`${MAX_BAD_MESSAGES} messages refused by their schema`);
          if (bad <= 3) this.def.log?.(`${name}: message refused`, { issue: parsed.issue });
          return;
        }
        const message = parsed.data;
        if ((this.def.startOver ?? this.def.isReady)(message)) endStartWeight();
        // What the part says must never throw here: the root part runs the cages' decisions.
        try {
          if (!running) {
            if (message.type === 'failed') return fail(new Error(`the ${name} could not start: ${(message as { error?: string }).error}`));
            if (!this.def.isReady(message)) return;
            clearTimeout(timer);
            running = true;
            this.running = true;
            resolve();
            this.def.started(message);
            return;
          }
          this.def.message(message);
        } catch (err) {
          this.refused++;
          this.def.log?.(`${name}: message not acted on`, { type: message.type, error: (err as Error).message.slice(0, 200) });
        }
      };
      channel = new RootChannelEnd<ToPart>(ends.rootEnds, { maxIncomingBytes: this.def.maxMessageBytes, message: received, misbehaved, closed: () => child.kill('SIGKILL') });
      this.channel = channel;
      child.once('error', (err) => fail(err));
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        channel?.close();
        // What it forked goes with it: nothing of this start outlives it (or meets the next one).
        cgroup?.remove();
        if (this.cgroup === cgroup) this.cgroup = null;
        const wasRunning = running;
        running = false;
        const reason = misbehaviour ? `misbehaved: ${misbehaviour}` : (signal ?? `exit ${code}`);
        if (!wasRunning && !over) fail(new Error(`the ${name} exited before it was ready (${reason})`));
        if (!current()) return; // an older start's child: a newer one is the part now
        this.child = null;
        this.channel = null;
        this.running = false;
        this.def.gone();
        if (!wasRunning || this.stopping) return;
        this.def.log?.(`${name} ended: starting it again`, { code, signal, reason });
        this.def.restarting(reason);
        this.backoff.restartLater();
      });
    });
  }
}
