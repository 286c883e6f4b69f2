/**
 * The supervisor's start and stop, coordinated: a stop asked for while the start is under way lets
 * the start end first — it ends early, at its next step (`checkpoint`) — so that everything it
 * started is registered before the stop disposes of it. A cage started after the stop had gone past
 * it would outlive the supervisor.
 */
export class StartThenStop {
  private starting: Promise<void> | null = null;
  private stopAsked = false;

  /** Runs the start; `checkpoint()` throws once a stop was asked for (call it before each step). */
  start(run: (checkpoint: () => void) => Promise<void>): Promise<void> {
    this.starting = run(() => this.throwIfStopAsked());
    return this.starting;
  }

  /** Lets a start under way end (whatever its outcome), then runs `dispose`. */
  async stop(dispose: () => Promise<void>): Promise<void> {
    this.stopAsked = true;
    await this.starting?.catch(() => undefined);
    await dispose();
  }

  private throwIfStopAsked(): void {
    if (this.stopAsked) throw new Error('stopped while starting');
  }
}
