/**
 * The selections the manager's xclips serve for the `cloison` part (xhelper.run's selection write):
 * one per level and selection, each known by the connection number its answer gave the part. A
 * new one for the same level and selection stops the earlier; `xhelper.stop` stops one by its
 * level and connection (xhelperStopExecutor.ts). Nothing but those xclips is ever signalled here.
 */
import type { ChildProcess } from 'node:child_process';

interface Served {
  level: string;
  connection: number;
  child: ChildProcess;
}

export class ServingSelections {
  private readonly byKey = new Map<string, Served>();

  /** `child` now serves `level`'s `selection`; the one serving it before is stopped. */
  serve(level: string, selection: string, connection: number, child: ChildProcess): void {
    const key = `${level}\n${selection}`;
    const previous = this.byKey.get(key);
    if (previous) stopChild(previous.child);
    this.byKey.set(key, { level, connection, child });
    child.once('exit', () => this.byKey.get(key)?.child === child && this.byKey.delete(key));
  }

  /** The xclip answered with `connection`, whatever its level, or undefined when none serves so. */
  find(connection: number): Served | undefined {
    return [...this.byKey.values()].find((s) => s.connection === connection);
  }

  stop(served: Served): void {
    stopChild(served.child);
  }
}

function stopChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}
