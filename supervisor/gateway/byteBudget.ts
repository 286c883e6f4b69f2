/**
 * How many bytes a cage may send its viewer: a token bucket of `bytesPerSecond`, holding at most
 * `burstBytes` (a first full frame, a burst of motion goes at once). Past it, the gateway stops
 * reading the cage until the bucket has refilled: a cage flooding its viewer is slowed at its own
 * socket (Xvnc coalesces its updates meanwhile), and cannot take the cores the trusted shell needs
 * to switch levels or draw a dialog.
 */
export interface ByteBudgetOptions {
  bytesPerSecond: number;
  burstBytes: number;
}

/** 32 MiB/s: far above ordinary work (a scrolling terminal moves under 1 MB/s), a third of a Raw flood. */
export const DEFAULT_VIEWER_BUDGET: ByteBudgetOptions = { bytesPerSecond: 32 * 2 ** 20, burstBytes: 8 * 2 ** 20 };

export class ByteBudget {
  private tokens: number;
  private last: number;

  constructor(
    private readonly options: ByteBudgetOptions,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = options.burstBytes;
    this.last = now();
  }

  /** Counts `bytes` sent; returns how many milliseconds to wait before reading more (0: none). */
  spend(bytes: number): number {
    const now = this.now();
    const { bytesPerSecond, burstBytes } = this.options;
    this.tokens = Math.min(burstBytes, this.tokens + ((now - this.last) / 1000) * bytesPerSecond) - bytes;
    this.last = now;
    return this.tokens >= 0 ? 0 : (-this.tokens / bytesPerSecond) * 1000;
  }
}
