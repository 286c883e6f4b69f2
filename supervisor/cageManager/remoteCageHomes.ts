/**
 * The `cloison` part's way into the cages' homes (issue #29): the file broker's acts (cageHomes.ts)
 * spoken to a serving file helper the root cage manager started for the level (`files.helper`,
 * filesHelperExecutor.ts: bwrap over that home, as the level's uid) and whose channel it handed
 * over (FILES_HELPER_MESSAGE). The part never names a path on the host nor a uid the manager does
 * not derive itself: it asks for a level, with the uid its policy gives the level, and the
 * manager refuses any other.
 *
 * One channel per level for its transfers' reads and writes, shared by those running at once and
 * closed a moment after the last ends (a helper left serving would keep the home's mount alive in
 * its sandbox); a channel lost (the helper gone, a cancel) is asked for again at the next act. A
 * cancel closes the channel: closing it is the only way to kill what the helper runs. The timed
 * acts (list, stat, clean) have a channel of their own, so that one timing out, closed, kills no
 * transfer in progress. Each channel is asked for with the uid the policy gives the level then
 * (a reload may change it).
 *
 * A write's data is streamed in chunks after its size (the helper reserves the size in its /tmp at
 * once and stages the chunks there): the part never holds a whole file, nor a line longer than a
 * chunk. A write larger than the helper may stage (the largest file the policy lets into the
 * level, as the manager computes it, filesStageBytes) is refused here, before anything is read or
 * sent, with the reason the broker shows (fileReasons.ts translates it).
 */
import { createReadStream } from 'node:fs';
import { PassThrough } from 'node:stream';
import type { Policy } from '../../shared/policy';
import { bwrapUidIn } from '../cages/cageFleet';
import type { HelperResult } from '../files/cageFileSandbox';
import type { CageHomes, HelperExit, HomeAccess, HomeReading, HomeWriting } from '../files/cageHomes';
import { ServedHelperChannel } from '../files/servedHelperChannel';
import type { PolicyReader } from '../policy/policyReader';
import type { ManagerRequester } from './managerLink';
import { filesStageBytes } from './filesHelperExecutor';
import { liveRequester, type ManagerLink } from './managerLink';
import { FILES_HELPER_MESSAGE, HandedSockets } from './socketHandOver';

/** A write's data per line: 256 KiB (a line of about 350 KB). */
const CHUNK_BYTES = 256 * 1024;
/** A list, stat or clean that takes longer: its channel (the timed acts', not the transfers') is closed (the helper and its children end). */
const RUN_TIMEOUT_MS = 10_000;
/** How long a level's channel stays open after its last act (the next act of a transfer reuses it). */
const IDLE_MS = 2_000;
/** What a list's answer may hold, as the local helper's (cageFileSandbox.ts runFileHelper). */
const MAX_STDOUT = 4 * 1024 * 1024;

export interface RemoteCageHomesOptions {
  client: ManagerRequester;
  /** The part's one receiver of file helper channels (one per process). */
  handed: HandedSockets;
  policy(): Policy;
}

export interface RemoteCageHomes extends CageHomes {
  /** Closes every channel (their helpers end): the supervisor's stop. */
  close(): void;
  /**
   * Closes a level's channel now, not once idle: its cage is down, and a helper serving on would
   * keep the home's filesystem alive in its sandbox after the manager unmounted it.
   */
  forget(level: string): void;
}

/** The wiring, once per process (a second receiver of the same message type would close what the first takes). */
export function wireRemoteCageHomes(manager: ManagerLink, policy: PolicyReader): RemoteCageHomes {
  return remoteCageHomes({ client: liveRequester(manager), handed: new HandedSockets(10_000, FILES_HELPER_MESSAGE), policy: () => policy.current() });
}

/** A level's two channels: its transfers', and its timed acts'. */
interface LevelChannels {
  transfers: LevelChannel;
  timed: LevelChannel;
}

export function remoteCageHomes(options: RemoteCageHomesOptions): RemoteCageHomes {
  const leases = new Map<string, LevelChannels>();
  // The uid read when the channel is asked for, not when the level was first used: a reload may have changed it.
  const open = (level: string) => async () => {
    const uid = bwrapUidIn(options.policy().levels, level);
    if (uid === null) throw new Error(`level ${level} has no cage uid in the policy`);
    const { connection } = (await options.client.request({ op: 'files.helper', level, uid })) as { connection: number };
    return new ServedHelperChannel(await options.handed.take(connection));
  };
  return {
    of(level) {
      if (bwrapUidIn(options.policy().levels, level) === null) return null;
      let lease = leases.get(level);
      if (!lease) {
        lease = { transfers: new LevelChannel(open(level)), timed: new LevelChannel(open(level)) };
        leases.set(level, lease);
      }
      return remoteHomeAccess(lease, level, () => filesStageBytes(options.policy(), level));
    },
    close() {
      for (const lease of leases.values()) {
        lease.transfers.close();
        lease.timed.close();
      }
    },
    forget(level) {
      leases.get(level)?.transfers.close();
      leases.get(level)?.timed.close();
    },
  };
}

interface Lease {
  channel: ServedHelperChannel;
  release(): void;
}

/** A level's channel, opened on first use, shared while in use, closed once idle. */
class LevelChannel {
  private channel: Promise<ServedHelperChannel> | null = null;
  private users = 0;
  private idle: NodeJS.Timeout | null = null;

  constructor(private readonly open: () => Promise<ServedHelperChannel>) {}

  async acquire(): Promise<Lease> {
    this.users++;
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    if (!this.channel) {
      const opening = this.open();
      this.channel = opening;
      const forget = () => {
        if (this.channel === opening) this.channel = null;
      };
      opening.then((c) => c.onClose(forget), forget);
    }
    let channel: ServedHelperChannel;
    try {
      channel = await this.channel;
    } catch (err) {
      this.release();
      throw err;
    }
    let released = false;
    return {
      channel,
      release: () => {
        if (released) return;
        released = true;
        this.release();
      },
    };
  }

  close(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    void this.channel?.then((c) => c.close(), () => undefined);
    this.channel = null;
  }

  private release(): void {
    if (--this.users > 0) return;
    this.idle = setTimeout(() => {
      this.idle = null;
      if (this.users === 0) this.close();
    }, IDLE_MS);
    this.idle.unref();
  }
}

/** The manager's refusal (or a channel not handed over) as the helper's stderr: what the broker shows. */
function managerSaid(level: string, err: unknown): string {
  return `the cage manager gave no file helper for level ${level}: ${(err as Error).message}`;
}

function remoteHomeAccess(lease: LevelChannels, level: string, stageBytes: () => number): HomeAccess {
  const run = async (args: [string, string]): Promise<HelperResult> => {
    let held: Lease;
    try {
      held = await lease.timed.acquire();
    } catch (err) {
      return { code: 1, stdout: '', stderr: managerSaid(level, err) };
    }
    return new Promise((resolve) => {
      const out: Buffer[] = [];
      let bytes = 0;
      const timer = setTimeout(() => held.channel.close(), RUN_TIMEOUT_MS);
      held.channel.request(args[0], [args[1]], {
        out: (chunk) => {
          if (bytes < MAX_STDOUT) out.push(chunk.subarray(0, MAX_STDOUT - bytes));
          bytes += chunk.length;
          return true;
        },
        exit: (code, stderr) => {
          clearTimeout(timer);
          held.release();
          resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: stderr.trim() });
        },
      });
    });
  };
  return {
    run,
    exists: async (dir) => (await run(['stat', dir])).code === 0,
    read: (path, identity) => remoteRead(lease.transfers, level, path, identity),
    write: (dir, name, staged, size) => remoteWrite(lease.transfers, level, dir, name, staged, size, stageBytes()),
  };
}

function remoteRead(lease: LevelChannel, level: string, path: string, identity: string): HomeReading {
  const bytes = new PassThrough();
  let held: Lease | null = null;
  let killed = false;
  const exited = (async (): Promise<HelperExit> => {
    try {
      held = await lease.acquire();
    } catch (err) {
      bytes.end();
      return { code: 1, stderr: managerSaid(level, err) };
    }
    const channel = held.channel;
    if (killed) channel.close();
    // The broker's pipeline gone (a file that grew, a cancel): what still comes is dropped, the channel reads on.
    bytes.on('close', () => channel.resume());
    let waiting = false;
    return new Promise((resolve) => {
      channel.request('read', [path, identity], {
        out: (chunk) => {
          if (bytes.destroyed || bytes.writableEnded) return true;
          if (bytes.write(chunk) || waiting) return true;
          waiting = true;
          bytes.once('drain', () => {
            waiting = false;
            channel.resume();
          });
          return false;
        },
        exit: (code, stderr) => {
          if (!bytes.destroyed) bytes.end();
          held!.release();
          resolve({ code, stderr });
        },
      });
    });
  })();
  return {
    bytes,
    exited,
    kill: () => {
      killed = true;
      held?.channel.close();
    },
  };
}

function remoteWrite(lease: LevelChannel, level: string, dir: string, name: string, staged: string, size: number, limit: number): HomeWriting {
  if (size > limit) {
    const refusal = { code: 2, stderr: `${size} bytes to write into ${level}, over the ${limit} bytes a write there may stage`, stdout: '' };
    return { staged: Promise.resolve(false), commit: () => undefined, exited: Promise.resolve(refusal), kill: () => undefined };
  }
  let held: Lease | null = null;
  let id: number | null = null;
  let killed = false;
  let stagedWhole: (whole: boolean) => void = () => undefined;
  const isStaged = new Promise<boolean>((r) => (stagedWhole = r));
  const exited = (async (): Promise<HelperExit & { stdout: string }> => {
    try {
      held = await lease.acquire();
    } catch (err) {
      stagedWhole(false);
      return { code: 1, stderr: managerSaid(level, err), stdout: '' };
    }
    const channel = held.channel;
    if (killed) channel.close();
    let stdout = '';
    const ended = new Promise<HelperExit & { stdout: string }>((resolve) => {
      id = channel.request(
        'write',
        [dir, name],
        {
          out: (chunk) => {
            stdout = (stdout + chunk.toString('utf8')).slice(-MAX_STDOUT);
            if (stdout.includes('"staged"')) stagedWhole(true);
            return true;
          },
          exit: (code, stderr) => {
            stagedWhole(false);
            held!.release();
            resolve({ code, stderr, stdout });
          },
        },
        size,
      );
    });
    // The staged copy (the part's own file), a chunk at a time, while the helper takes the write.
    const writeId = id!;
    let sent = 0;
    let failure: string | null = null;
    try {
      for await (const chunk of createReadStream(staged, { highWaterMark: CHUNK_BYTES })) {
        if (!channel.runs(writeId)) break;
        const bytes = (chunk as Buffer).subarray(0, size - sent);
        sent += bytes.length;
        await channel.chunk(writeId, bytes);
        if (sent === size) break;
      }
    } catch (err) {
      failure = `the staged copy cannot be read: ${(err as Error).message}`;
    }
    // Fewer bytes than announced: the helper would wait for the rest; closing the channel ends it.
    if (sent !== size && channel.runs(writeId)) {
      failure ??= `the staged copy is ${sent} bytes, not ${size}`;
      channel.close();
    }
    const end = await ended;
    return failure ? { code: 1, stderr: failure, stdout: end.stdout } : end;
  })();
  return {
    staged: isStaged,
    commit: (link) => {
      if (id !== null) held?.channel.commit(id, link);
    },
    exited,
    kill: () => {
      killed = true;
      held?.channel.close();
    },
  };
}
