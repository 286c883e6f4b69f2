/**
 * Which level is in front, and whether input is suspended because a trusted surface (overview,
 * dialog) has the keyboard. The supervisor's copy is the one the gateway enforces: a renderer bug
 * cannot send keys to a cage behind (trusted path, property 4). Changes only on a shell request.
 */
import { EventEmitter } from 'node:events';

export class FocusState extends EventEmitter<{ change: [level: string, previous: string]; suspend: [] }> {
  private current: string;
  private suspended = false;

  constructor(
    private readonly levels: readonly string[],
    initial: string,
  ) {
    super();
    if (!levels.includes(initial)) throw new Error(`unknown level ${initial}`);
    this.current = initial;
  }

  get front(): string {
    return this.current;
  }

  /** May this cage receive keyboard and pointer input now? */
  isInFront(level: string): boolean {
    return !this.suspended && this.current === level;
  }

  get inputSuspended(): boolean {
    return this.suspended;
  }

  setSuspended(suspended: boolean): void {
    if (suspended === this.suspended) return;
    this.suspended = suspended;
    if (suspended) this.emit('suspend');
  }

  set(level: string): boolean {
    if (!this.levels.includes(level)) throw new Error(`unknown level ${level}`);
    if (level === this.current) return false;
    const previous = this.current;
    this.current = level;
    this.emit('change', level, previous);
    return true;
  }
}
