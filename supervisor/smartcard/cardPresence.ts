/**
 * Whether the card is in the reader: the module's own list of slots with a token, asked afresh
 * every second by `pkcs11-tool -T` (a new process loads the module anew, so nothing it cached
 * hides a change). With a reader, OpenSC answers from pcscd's view of the slot, so a card pulled
 * out shows here within a poll; with SoftHSM2, a token whose folder left the token directory does.
 * A token is known by its serial number: one gone is a card pulled, one new is a card inserted (a
 * card swapped between two polls is both).
 *
 * Trust rule: the module runs here as the card proxy's unprivileged uid, never root (the uid
 * the token's store is readable by: SoftHSM2 writes it 0600 to that one uid); only the
 * serial numbers of the tool's listing are read. A listing that cannot be had (the tool timed out
 * on a loaded machine, the module failed to load) says nothing either way and changes nothing here
 * (a card pulled out gives a listing without it, not an error); each one is told (`outcome`), and
 * the cage manager ends every session after a few in a row (cardPresenceWatch.ts): a reader it
 * cannot see could hide a card pulled out.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, lstatSync, renameSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from '../system/binaries';
import { refuseDescriptorsOnStdio } from '../system/refusePassedDescriptors';

export interface CardPresenceSettings {
  modulePath: string;
  environment: Record<string, string>;
  /** The uid the module is loaded as (a card proxy's). */
  uid: number;
}

export interface CardChange {
  /** Serials of tokens gone since the last poll. */
  removed: string[];
  /** Serials of tokens that appeared. */
  inserted: string[];
  /** Serials present now. */
  present: string[];
}

export interface CardPresenceOptions {
  /** Read at every poll: a reload may change the module. null: no card in the policy, no poll. */
  settings: () => CardPresenceSettings | null;
  change: (change: CardChange) => void;
  /**
   * A folder of root's (0711: the proxy uid passes through to run it) where the tool is copied
   * execute-only: the listing then runs non-dumpable, so a process of the proxy uid — a proxy a cage
   * took over — can neither ptrace it nor read its memory to change the serials it prints.
   * Absent: the installed tool, as the proxy uid may trace it.
   */
  toolDir?: string;
  /** Each listing's outcome: had (true) or not (false: timed out, the module failed). */
  outcome?: (listed: boolean) => void;
  intervalMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

const DEFAULT_INTERVAL_MS = 1000;
const LIST_TIMEOUT_MS = 5000;

/** The serial numbers of the initialised tokens in `pkcs11-tool -T`'s listing. */
export function tokenSerials(listing: string): string[] {
  const serials: string[] = [];
  for (const slot of listing.split(/^Slot /m).slice(1)) {
    if (/token state:\s*uninitialized/.test(slot)) continue;
    const serial = /^\s*serial num\s*:\s*(\S[^\n]{0,63})$/m.exec(slot)?.[1]?.trim();
    if (serial) serials.push(serial);
  }
  return serials;
}

export class CardPresence {
  private timer: NodeJS.Timeout | null = null;
  private known: Set<string> | null = null;
  private stopped = false;
  /** The listing under way, if any: stop() ends it (one stuck in the module would outlive us). */
  private listing: ChildProcess | null = null;

  constructor(private readonly options: CardPresenceOptions) {}

  /** Polls until stop(); the first listing is the baseline (no event). */
  start(): void {
    this.stopped = false;
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.listing?.kill('SIGKILL');
    this.listing = null;
  }

  /** The serials seen at the last poll (null before the first). */
  get present(): string[] | null {
    return this.known ? [...this.known] : null;
  }

  private async poll(): Promise<void> {
    const settings = this.options.settings();
    if (settings) {
      const listed = await this.list(settings);
      if (this.stopped) return;
      if (listed !== null) this.update(new Set(listed));
      this.options.outcome?.(listed !== null);
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.poll(), this.options.intervalMs ?? DEFAULT_INTERVAL_MS);
  }

  /** The first listing is the baseline (said, no removal); then each difference is a change. */
  private update(now: Set<string>): void {
    const before = this.known;
    this.known = now;
    const removed = before ? [...before].filter((s) => !now.has(s)) : [];
    const inserted = before ? [...now].filter((s) => !before.has(s)) : [];
    if (!before || removed.length > 0 || inserted.length > 0) this.options.change({ removed, inserted, present: [...now] });
  }

  /**
   * The tool the listing runs: an execute-only copy in `toolDir` (root's, mode 0111). The kernel
   * makes a process non-dumpable when it executes a file its uid cannot read, and a non-dumpable
   * process is traced, or its /proc memory, environment and descriptors opened, by root alone.
   */
  private tool(): string {
    const installed = requireBinary('pkcs11-tool');
    const dir = this.options.toolDir;
    if (!dir) return installed;
    const copy = join(dir, 'pkcs11-tool');
    const folder = lstatSync(dir);
    if (!folder.isDirectory() || folder.uid !== 0 || (folder.mode & 0o022) !== 0) throw new Error(`${dir} is not a folder only root writes`);
    const made = lstatOrNull(copy);
    const source = statSync(installed);
    // Copied again when the installed tool is newer (an upgrade) or the copy is not root's 0111.
    if (made && made.isFile() && made.uid === 0 && (made.mode & 0o7777) === 0o111 && made.size === source.size && made.mtimeMs >= source.mtimeMs) return copy;
    copyFileSync(installed, `${copy}.new`);
    chmodSync(`${copy}.new`, 0o111);
    renameSync(`${copy}.new`, copy);
    return copy;
  }

  /** The serials listed; null when the module could not be asked. */
  private list({ modulePath, environment, uid }: CardPresenceSettings): Promise<string[] | null> {
    let tool: string;
    try {
      tool = this.tool();
    } catch (err) {
      this.options.log?.('card presence: the listing tool could not be prepared', { error: (err as Error).message });
      return Promise.resolve(null);
    }
    // The uid changed by chroot, not setpriv: setpriv gives its capabilities back after changing uid
    // and execs with them effective, so the copy would be read as root's and the listing stay
    // dumpable; anything exec'd in between (a shell) would be a readable file of the proxy uid's,
    // dumpable, traceable, its exec rewritten. coreutils' chroot to / sets the groups, gid and uid
    // with plain calls (no capability kept: non-dumpable from there on) and execs the copy directly,
    // as the proxy uid alone. setpriv, still root, only sets no-new-privileges for it.
    const argv = ['--no-new-privs', '--', requireBinary('chroot'), `--userspec=+${uid}:+${uid}`, '--groups=', '/', tool, '--module', modulePath, '-T'];
    return new Promise((resolve) => {
      // Its output is a socketpair root reads, and the module talks to the card: no descriptor on it.
      const child = execFile(requireBinary('setpriv'), argv, { timeout: LIST_TIMEOUT_MS, env: { PATH: '/usr/bin:/bin', LANG: 'C', ...environment }, cwd: '/', maxBuffer: 1 << 20 }, (err, stdout) => {
        if (this.listing === child) this.listing = null;
        // "No slots." exits 0 on some versions and 1 on others: both are an empty reader.
        if (/No slots/i.test(String(stdout))) return resolve([]);
        if (err) {
          this.options.log?.('card presence: the module could not be asked', { error: err.message });
          return resolve(null);
        }
        resolve(tokenSerials(String(stdout)));
      });
      refuseDescriptorsOnStdio(child);
      this.listing = child;
    });
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
