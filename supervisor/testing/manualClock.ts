/** Test tool: a millisecond clock that moves only when the test says, for code taking `now`. */
export function manualClock(): { now: () => number; advance: (ms: number) => number } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}
