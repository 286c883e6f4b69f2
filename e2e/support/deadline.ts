/**
 * A step of a test's setup that must end within its own time, or fail saying which step it was:
 * a hook's timeout says only that the hook ran out of time, and its screenshot (a fixture page the
 * hook never used) is blank.
 */
export async function within<T>(step: string, ms: number, work: Promise<T> | (() => Promise<T>)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${step}: not done within ${ms / 1000} s`)), ms);
  });
  const working = typeof work === 'function' ? work() : work;
  working.catch(() => undefined); // a step that fails after its time ran out has already been reported
  try {
    return await Promise.race([working, expired]);
  } finally {
    clearTimeout(timer);
  }
}
