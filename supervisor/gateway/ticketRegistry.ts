/**
 * One-time tickets for VNC gateway connections: random, single use, short-lived, bound to one cage.
 * No ticket, no bytes.
 */
import { randomBytes } from 'node:crypto';
import { CloisonError } from '../../shared/errors';

export interface TicketRegistryOptions {
  /** How long a ticket stays valid after it is issued. */
  ttlMs?: number;
  /** Most tickets outstanding at once; the oldest are forgotten beyond it. */
  maxOutstanding?: number;
  now?: () => number;
}

interface Ticket {
  level: string;
  /** The shell session the ticket was issued to: its viewer is that shell's. */
  session: string;
  expiresAt: number;
}

export class TicketRegistry {
  private readonly tickets = new Map<string, Ticket>();
  readonly ttlMs: number;
  private readonly maxOutstanding: number;
  private readonly now: () => number;

  constructor(options: TicketRegistryOptions = {}) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.maxOutstanding = options.maxOutstanding ?? 64;
    this.now = options.now ?? Date.now;
  }

  issue(level: string, session = ''): string {
    this.sweep();
    while (this.tickets.size >= this.maxOutstanding) {
      const oldest = this.tickets.keys().next().value;
      if (oldest === undefined) break;
      this.tickets.delete(oldest);
    }
    const ticket = randomBytes(32).toString('base64url');
    this.tickets.set(ticket, { level, session, expiresAt: this.now() + this.ttlMs });
    return ticket;
  }

  /** Consumes the ticket: whatever the outcome, it cannot be used again. Returns its session. */
  redeem(ticket: string, level: string): { session: string } {
    const entry = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    if (!entry) throw new CloisonError('TICKET_INVALID', 'unknown or already used ticket');
    if (entry.expiresAt <= this.now()) throw new CloisonError('TICKET_INVALID', 'ticket expired');
    if (entry.level !== level) throw new CloisonError('TICKET_INVALID', `ticket is bound to another cage than "${level}"`);
    return { session: entry.session };
  }

  get outstanding(): number {
    this.sweep();
    return this.tickets.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, t] of this.tickets) if (t.expiresAt <= now) this.tickets.delete(key);
  }
}
