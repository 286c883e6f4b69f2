import { createInterface } from 'node:readline';

/** Test helper: polls until `check` holds (or throws with `what` once `timeoutMs` has passed). */
export async function waitFor(check: () => boolean | Promise<boolean>, what = 'condition', timeoutMs = 10_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Resolves at the supervisor's "ready" line on its stdout (every cage started or failed). */
export function supervisorReady(stdout: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: stdout });
    lines.on('line', (line) => {
      if (!line.includes('"ready":true')) return;
      lines.close();
      resolve();
    });
  });
}
