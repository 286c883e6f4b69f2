/**
 * Test helpers: skips a test saying why. The reason goes into the test's meta, which the JSON report
 * carries, so the summary of `npm test` prints it next to the skipped test (vitest's own skipIf and
 * runIf take no reason: the summary would say "no reason given").
 */
declare module 'vitest' {
  interface TaskMeta {
    /** Why the test was skipped, for the summary of `npm test` (scripts/runAllTests.mjs). */
    skipReason?: string;
  }
}

/** The part of vitest's test context this needs (helpers stay free of the test runner's types). */
interface SkippableContext {
  task: { meta: object };
  skip(note?: string): void;
}

/** Skips the running test (known only once it runs: a service asked, a file read). */
export function skipWithReason(ctx: SkippableContext, reason: string): never {
  (ctx.task.meta as { skipReason?: string }).skipReason = reason;
  ctx.skip(reason);
  throw new Error('unreachable: ctx.skip throws');
}

/**
 * The options of a `describe` or `it` (its second argument) that skip it when `reason` is given,
 * the reason carried to every test it holds; a check known before the tests run (a program missing).
 */
export function skipWhen(reason: string | null | false): { skip?: boolean; meta?: { skipReason: string } } {
  return reason ? { skip: true, meta: { skipReason: reason } } : {};
}

/** skipWhen for the programs a test needs that are not installed. */
export function skipWhenMissing(missing: string[]): ReturnType<typeof skipWhen> {
  return skipWhen(missing.length > 0 && `${missing.join(', ')} not installed (scripts/setup.sh installs them)`);
}
