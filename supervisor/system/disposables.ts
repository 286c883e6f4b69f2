/**
 * Stopping in the reverse order of starting: each part registers how it stops where it starts, and
 * `disposeAll` runs them last first. A failure is logged and the rest still run, so one part that
 * cannot stop never leaves the others (a mount, a socket, the journal) behind.
 */
type Log = (msg: string, fields?: Record<string, unknown>) => void;

export class Disposables {
  private readonly stack: Array<{ name: string; dispose: () => unknown }> = [];

  constructor(private readonly log?: Log) {}

  /** `dispose` may be async; it runs once, after everything registered later has stopped. */
  add(name: string, dispose: () => unknown): void {
    this.stack.push({ name, dispose });
  }

  async disposeAll(): Promise<void> {
    for (let entry = this.stack.pop(); entry; entry = this.stack.pop()) {
      try {
        await entry.dispose();
      } catch (err) {
        this.log?.('stopping failed', { part: entry.name, error: (err as Error).message });
      }
    }
  }
}
