import { describe, expect, it } from 'vitest';
import { TicketRegistry } from './ticketRegistry';

describe('ticket registry', () => {
  it('issues random tickets that work once', () => {
    const reg = new TicketRegistry();
    const a = reg.issue('low');
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(reg.issue('low')).not.toBe(a);
    expect(() => reg.redeem(a, 'low')).not.toThrow();
    expect(() => reg.redeem(a, 'low')).toThrow(/unknown or already used/);
  });

  it('refuses an expired ticket', () => {
    let now = 1000;
    const reg = new TicketRegistry({ ttlMs: 5000, now: () => now });
    const t = reg.issue('high');
    now += 5000;
    expect(() => reg.redeem(t, 'high')).toThrow(/unknown or already used|expired/);
  });

  it('refuses a ticket for another cage, and burns it', () => {
    const reg = new TicketRegistry();
    const t = reg.issue('low');
    expect(() => reg.redeem(t, 'high')).toThrow(/bound to another cage/);
    expect(() => reg.redeem(t, 'low')).toThrow(/unknown or already used/);
  });

  it('refuses made-up tickets and bounds how many are outstanding', () => {
    const reg = new TicketRegistry({ maxOutstanding: 3 });
    expect(() => reg.redeem('', 'low')).toThrow();
    expect(() => reg.redeem('x'.repeat(43), 'low')).toThrow();
    const first = reg.issue('low');
    for (let i = 0; i < 5; i++) reg.issue('low');
    expect(reg.outstanding).toBe(3);
    expect(() => reg.redeem(first, 'low')).toThrow(/unknown/);
  });
});
