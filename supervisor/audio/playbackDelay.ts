/**
 * How late a level's sound would be heard if the relay passed it on now: what the host's server
 * holds for the stream (the player's own report) plus what waits in the pipe to the player (written
 * by the relay, not yet taken by the server). Without this bound, sound held up while the host
 * stalls (a device switch, a busy server) waits in the pipe and is heard seconds late for good, and
 * a muted level goes on being heard for that long.
 *
 * The player is `pacat --verbose`, which reports every 50 ms "Time: <played> sec; Latency:
 * <held by the server> usec"; the server has taken played + held of what the relay wrote.
 */
const REPORT = /Time: (\d+(?:\.\d+)?) sec; Latency: (-?\d+) usec/g;

export class PlaybackDelay {
  private written = 0;
  private dropping = false;
  /** The delay at the last report, when it came, and the bytes written since the start then. */
  private last: { delayMs: number; at: number; written: number } | null = null;

  constructor(
    private readonly bytesPerSecond: number,
    /** Sound that would be heard later than this is dropped. */
    private readonly maxDelayMs: number,
    private readonly resumeBelowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Text from the player's standard error; reports may arrive split or several at once. */
  reported(text: string): void {
    let match: RegExpExecArray | null = null;
    for (let m = REPORT.exec(text); m; m = REPORT.exec(text)) match = m;
    if (!match) return;
    const playedBytes = Number(match[1]) * this.bytesPerSecond;
    const heldMs = Math.max(0, Number(match[2]) / 1000);
    const heldBytes = (heldMs / 1000) * this.bytesPerSecond;
    const waitingBytes = Math.max(0, this.written - playedBytes - heldBytes);
    this.last = { delayMs: heldMs + this.ms(waitingBytes), at: this.now(), written: this.written };
  }

  /**
   * Whether `bytes` more may go to the player; counted as written when they may. Once the delay
   * passes the bound, sound is dropped until it is back to `resumeBelowMs`: a backlog is cleared
   * in one go, instead of the stream sitting at the bound and dropping a chunk now and then.
   */
  admit(bytes: number): boolean {
    const delay = this.delayMs();
    if (this.dropping && delay > this.resumeBelowMs) return false;
    this.dropping = delay + this.ms(bytes) > this.maxDelayMs;
    if (this.dropping) return false;
    this.written += bytes;
    return true;
  }

  /**
   * The delay now: the last report's, plus what was written since, less the time gone by (the
   * server plays on in real time; if it has stalled, the next report says so within 50 ms).
   * Before the first report, nothing is known to wait.
   */
  delayMs(): number {
    if (!this.last) return 0;
    const since = this.last.delayMs + this.ms(this.written - this.last.written) - (this.now() - this.last.at);
    return Math.max(0, since);
  }

  private ms(bytes: number): number {
    return (bytes * 1000) / this.bytesPerSecond;
  }
}
