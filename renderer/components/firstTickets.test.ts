/**
 * The first tickets asked as the session is described (firstTickets.ts): one per running cage,
 * each taken once, by its own level only, for the cage as it was described.
 */
import { describe, expect, it, vi } from 'vitest';
import type { CageState } from '../../shared/rpc';
import { askFirstTickets } from './firstTickets';

const cage = (level: string, status: CageState['status'], restarts = 0) => ({ level, status, restarts }) as CageState;

describe('first tickets', () => {
  it('are asked for the running cages only, each taken once by its own level, for the cage as described', async () => {
    const call = vi.fn((_m: 'vnc.ticket', p: { level: string }) => Promise.resolve({ ticket: `t-${p.level}`, path: '/vnc', expiresInMs: 30_000 }));
    const first = askFirstTickets({ call } as never, [cage('low', 'running'), cage('high', 'running', 2), cage('mid', 'starting')], () => 7);
    expect(call.mock.calls.map(([, p]) => p.level)).toEqual(['low', 'high']);
    expect(await first.take('low', 0)).toEqual({ ticket: 't-low', path: '/vnc', expiresInMs: 30_000, at: 7 });
    expect(first.take('low', 0)).toBeNull();
    expect(first.take('mid', 0)).toBeNull();
    // High restarted since it was described: its ticket is never handed over.
    expect(first.take('high', 3)).toBeNull();
    expect(first.take('high', 2)).toBeNull();
  });

  it('a refused ticket rejects only for the viewer that takes it (which asks again)', async () => {
    const call = vi.fn(() => Promise.reject(new Error('locked')));
    const first = askFirstTickets({ call } as never, [cage('low', 'running')]);
    await new Promise((r) => setTimeout(r, 0)); // no unhandled rejection meanwhile
    await expect(first.take('low', 0)).rejects.toThrow('locked');
  });
});
