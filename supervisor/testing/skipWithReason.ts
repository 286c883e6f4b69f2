/**
 * Test helper: skips the running test, saying why. The reason goes into the test's meta, which the
 * JSON report carries, so the summary of `npm test` prints it next to the skipped test.
 */
/** The part of vitest's test context this needs (helpers stay free of the test runner's types). */
interface SkippableContext {
  task: { meta: object };
  skip(note?: string): void;
}

export function skipWithReason(ctx: SkippableContext, reason: string): never {
  (ctx.task.meta as { skipReason?: string }).skipReason = reason;
  ctx.skip(reason);
  throw new Error('unreachable: ctx.skip throws');
}
