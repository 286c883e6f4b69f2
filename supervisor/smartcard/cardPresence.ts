/**
 * Whether the card is in the reader: the module's own list of slots with a token, asked afresh
 * every second by `pkcs11-tool -T` (a new process loads the module anew, so nothing it cached
 * hides a change). With a reader, OpenSC answers from pcscd's view of the slot, so a card pulled
 * out shows here within a poll; with SoftHSM2, a token whose folder left the token directory does.
 * A token is known by its serial number: one gone is a card pulled, one new is a card inserted (a
 * card swapped between two polls is both).
 *
 * Trust rule: the module runs here as the card proxy's unprivileged uid, never root; only the
 * serial numbers of the tool's listing are read. A listing that cannot be had (the tool timed out
 * on a loaded machine, the module failed to load) says nothing either way and changes nothing here
 * (a card pulled out gives a listing without it, not an error); each one is told (`outcome`), and
 * the cage manager ends every session after a few in a row (cardPresenceWatch.ts): a reader it
 * cannot see could hide a card pulled out.
 */
import { execFile } from 'node:child_process';
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

  /** The serials listed; null when the module could not be asked. */
  private list({ modulePath, environment, uid }: CardPresenceSettings): Promise<string[] | null> {
    const argv = ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--no-new-privs', '--', requireBinary('pkcs11-tool'), '--module', modulePath, '-T'];
    return new Promise((resolve) => {
      // Its output is a socketpair root reads, and the module talks to the card: no descriptor on it.
      const child = execFile(requireBinary('setpriv'), argv, { timeout: LIST_TIMEOUT_MS, env: { PATH: '/usr/bin:/bin', LANG: 'C', ...environment }, cwd: '/', maxBuffer: 1 << 20 }, (err, stdout) => {
        // "No slots." exits 0 on some versions and 1 on others: both are an empty reader.
        if (/No slots/i.test(String(stdout))) return resolve([]);
        if (err) {
          this.options.log?.('card presence: the module could not be asked', { error: err.message });
          return resolve(null);
        }
        resolve(tokenSerials(String(stdout)));
      });
      refuseDescriptorsOnStdio(child);
    });
  }
}
