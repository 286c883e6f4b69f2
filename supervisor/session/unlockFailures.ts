/**
 * The unlock failures in a row and the time of the next allowed attempt, kept in the state folder
 * (root's, 0700; the file 0600) so a supervisor restart — or a crash someone provokes — neither
 * resets the growing delay nor forgets the count. Written whole (temporary file, fsync, rename): a
 * torn write never reads as zero failures; an unreadable file counts as the worst case it could
 * have held less than: a failure and a minute's wait, not none.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';

export interface FailureState {
  failures: number;
  /** Epoch milliseconds before which no attempt is checked. */
  retryAt: number;
}

const NONE: FailureState = { failures: 0, retryAt: 0 };

export class UnlockFailures {
  constructor(private readonly file: string) {}

  read(): FailureState {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return NONE;
      return { failures: 1, retryAt: Date.now() + 60_000 };
    }
    try {
      const { failures, retryAt } = JSON.parse(text) as Partial<FailureState>;
      if (Number.isInteger(failures) && failures! >= 0 && Number.isFinite(retryAt)) return { failures: failures!, retryAt: retryAt! };
    } catch {
      /* below */
    }
    return { failures: 1, retryAt: Date.now() + 60_000 };
  }

  write(state: FailureState): void {
    const tmp = `${this.file}.tmp`;
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, JSON.stringify(state) + '\n');
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
    } catch {
      /* the delay holds in memory all the same; only a restart would shorten it */
    }
  }

  clear(): void {
    rmSync(this.file, { force: true });
  }
}
