/** Test helper: polls until `check` holds (or throws with `what` once `timeoutMs` has passed). */
export async function waitFor(check: () => boolean | Promise<boolean>, what = 'condition', timeoutMs = 10_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
