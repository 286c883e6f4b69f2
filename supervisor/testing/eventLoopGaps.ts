/**
 * Test helper: how long a process went without running anything else — what a synchronous wait
 * (a look-up with execFileSync, a gpg listing) stops. A 100 ms timer notes the longest time between
 * two of its runs. Used in the test's own process, or in a script's (timedScript,
 * hangingNameService.ts), which imports it.
 */
export interface EventLoopGaps {
  /** The longest gap so far, in ms. */
  longest(): number;
  /** Ends the timer; answers the longest gap. */
  stop(): number;
}

export function watchEventLoopGaps(): EventLoopGaps {
  let last = Date.now();
  let longestGap = 0;
  const timer = setInterval(() => {
    longestGap = Math.max(longestGap, Date.now() - last);
    last = Date.now();
  }, 100);
  return {
    longest: () => longestGap,
    stop: () => {
      clearInterval(timer);
      return longestGap;
    },
  };
}
