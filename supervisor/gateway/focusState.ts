/**
 * Which level is in front, and whether input is suspended because a trusted surface has the
 * keyboard. The supervisor's copy is the one the gateway enforces: a renderer bug cannot send keys
 * to a cage behind (trusted path, property 4). Suspension has reasons, each set by whoever knows:
 * `shell` (the overview and the shell's own dialogs, as the shell reports them), `dialog` (a
 * question of the supervisor's waiting for the user), `device` (a USB device waiting for the
 * user's decision), `lock` (the workstation is locked) — input flows only when none holds.
 */
import { EventEmitter } from 'node:events';

export type SuspendReason = 'shell' | 'dialog' | 'device' | 'lock';

export class FocusState extends EventEmitter<{ change: [level: string, previous: string]; suspend: []; release: [] }> {
  private current: string;
  private readonly reasons = new Set<SuspendReason>();

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
    return this.reasons.size === 0 && this.current === level;
  }

  get inputSuspended(): boolean {
    return this.reasons.size > 0;
  }

  /** Sets or clears one reason; the first reason to hold releases every key a cage holds down. */
  setSuspended(suspended: boolean, reason: SuspendReason = 'shell'): void {
    const was = this.reasons.size > 0;
    if (suspended) this.reasons.add(reason);
    else this.reasons.delete(reason);
    if (!was && this.reasons.size > 0) this.emit('suspend');
    if (was && this.reasons.size === 0) this.emit('release');
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
