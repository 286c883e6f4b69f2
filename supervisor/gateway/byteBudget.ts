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

/**
 * For a viewer whose cage is not in front: 2 MiB/s, 512 KiB at once. Shown in split view or not at
 * all, it needs little, and a cage flooding from behind then takes almost nothing of the cores the
 * trusted page needs to switch levels; brought to front, it starts again from this small bucket,
 * so the switch's own frame is not drawn beside a burst of decoding.
 */
export const DEFAULT_BACK_VIEWER_BUDGET: ByteBudgetOptions = { bytesPerSecond: 2 * 2 ** 20, burstBytes: 512 * 2 ** 10 };

export class ByteBudget {
  private tokens: number;
  private last: number;
  private readonly current: () => ByteBudgetOptions;

  /** `options` may change over time (a viewer coming to front): given as a function, it is read at every spend. */
  constructor(
    options: ByteBudgetOptions | (() => ByteBudgetOptions),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.current = typeof options === 'function' ? options : () => options;
    this.tokens = this.current().burstBytes;
    this.last = now();
  }

  /** Counts `bytes` sent; returns how many milliseconds to wait before reading more (0: none). */
  spend(bytes: number): number {
    const now = this.now();
    const { bytesPerSecond, burstBytes } = this.current();
    this.tokens = Math.min(burstBytes, this.tokens + ((now - this.last) / 1000) * bytesPerSecond) - bytes;
    this.last = now;
    return this.tokens >= 0 ? 0 : (-this.tokens / bytesPerSecond) * 1000;
  }
}
