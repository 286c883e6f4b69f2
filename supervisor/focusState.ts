/**
 * Which level is in front. The supervisor's copy is the one the gateway enforces: a renderer bug
 * cannot send keys to a cage behind (trusted path, property 4). Changes only on a shell request.
 */
import { EventEmitter } from 'node:events';

export class FocusState extends EventEmitter<{ change: [level: string, previous: string] }> {
  private current: string;

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

  isInFront(level: string): boolean {
    return this.current === level;
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
