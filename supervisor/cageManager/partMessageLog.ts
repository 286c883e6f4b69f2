/**
 * What the manager logs about the `cloison` part's messages (a type nothing acts on, an
 * announcement refused: managerMain.ts's relay), held to a budget per window as the part's stderr
 * is (partStderr.ts): the part may send such messages as fast as its channel carries them, and a
 * line each let it fill root's log (journald then rate-limits the whole unit, the manager's own
 * lines with it; seen: 20000 lines for 20000 messages, attacks/partMessagesRelay.attack.test.ts).
 * Over the budget, lines are counted, and the count said once when the next window opens.
 */
export const PART_MESSAGE_LOG_BUDGET = { lines: 16, windowMs: 10_000 };

export class PartMessageLog {
  private windowStart = -Infinity;
  private said = 0;
  private dropped = 0;

  constructor(
    private readonly say: (msg: string, fields?: Record<string, unknown>) => void,
    private readonly budget = PART_MESSAGE_LOG_BUDGET,
    private readonly now: () => number = Date.now,
  ) {}

  log(msg: string, fields?: Record<string, unknown>): void {
    const at = this.now();
    if (at - this.windowStart >= this.budget.windowMs) {
      if (this.dropped > 0) this.say('cloison part: lines about its messages dropped', { dropped: this.dropped, windowMs: this.budget.windowMs });
      this.windowStart = at;
      this.said = 0;
      this.dropped = 0;
    }
    if (this.said < this.budget.lines) {
      this.said++;
      this.say(msg, fields);
      if (this.said === this.budget.lines) this.say('cloison part: more lines about its messages are dropped until the window ends', { windowMs: this.budget.windowMs });
      return;
    }
    this.dropped++;
  }
}
