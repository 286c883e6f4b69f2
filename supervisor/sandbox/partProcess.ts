/**
 * One unprivileged part as the root part runs it (the browser part, the sound part): started under
 * setpriv (unprivilegedPart.ts) with its start in its environment and its channel (partChannel.ts)
 * as fds 3, 4 and 5 (partSpawn.ts; the first start's process may have been spawned earlier, `early`),
 * the start's `begin` message first on its channel; ready once it says so; each message it sends parsed as untrusted before the part's
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
import type { ChildProcess } from 'node:child_process';
import { setGroupCpuWeight, DEFAULT_CPU_WEIGHT, type ControlGroup } from './partCgroup';
import { Socket } from 'node:net';
import { RootChannelEnd } from './partChannel';
import { PartStderr } from './partStderr';
import { spawnPartProcess, type EarlyPart, type PartSpawnSpec, type SpawnedPart } from './partSpawn';
import { RestartBackoff } from './unprivilegedPart';

/** How long a part's start's CPU weight lasts at most (startCpuWeight). */
const START_WEIGHT_LIMIT_MS = 15_000;
/** How long a part has to say it is ready. */
const START_TIMEOUT_MS = 30_000;
/** Messages from the part that did not parse, before it is stopped (and started again). */
const MAX_BAD_MESSAGES = 100;

export type Parsed<T> = { success: true; data: T } | { success: false; issue: string };

export interface PartDefinition<ToRoot extends { type: string }, ToPart = never> extends PartSpawnSpec {
  /**
   * Its first start's process, spawned before this part was built (partSpawn.ts): taken instead of
   * a new one if it still runs. Its start (its environment) must be the one `start` would build.
   */
  early?: EarlyPart;
  /** Sent first on every start's channel, before anything else: what the part's start needs that is known only now. */
  begin?: () => ToPart;
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

  /** The first start's process when it was spawned early (`early`), until that start takes it. */
  private early: EarlyPart | undefined;

  constructor(private readonly def: PartDefinition<ToRoot, ToPart>) {
    this.early = def.early;
  }

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

  /** SIGTERM, then SIGKILL after `graceMs` (longer for a part whose stop waits on the cages' applications: cageManager/partStopGrace.ts). */
  async stop(graceMs = 3000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
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

  /** The early process (`early`), on the first start only and if it still runs. */
  private takeEarly(): SpawnedPart | null {
    const { early } = this;
    if (!early) return null;
    this.early = undefined;
    const taken = early.take();
    if (!taken) this.def.log?.(`${this.def.name}: the one started early had ended, another is started`);
    return taken;
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
    // The last start's group goes (what it forked with it) before this one's is made.
    this.cgroup?.remove();
    this.cgroup = null;
    const { child, rootEnds, errorEnd, cgroup } = this.takeEarly() ?? spawnPartProcess(this.def);
    this.cgroup = cgroup;
    this.child = child;
    this.running = false;
    const stderr = new PartStderr(name, this.def.stderr ?? ((line) => void process.stderr.write(`${line}\n`)));
    const errors = new Socket({ fd: errorEnd, readable: true, writable: false });
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
      channel = new RootChannelEnd<ToPart>(rootEnds, { maxIncomingBytes: this.def.maxMessageBytes, message: received, misbehaved, closed: () => child.kill('SIGKILL') });
      this.channel = channel;
      if (this.def.begin) channel.send(this.def.begin());
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
