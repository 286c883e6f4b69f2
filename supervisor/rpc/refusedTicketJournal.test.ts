/**
 * What a refused `vnc.ticket` costs the journal (issue #26, shellgaps-13): the shell's viewer used
 * to ask again every second while its cage was down. The supervisor refuses before anything is
 * recorded (a ticket opens a view of a cage: only a ticket issued is journaled), so a refusal writes
 * no line; what bounds the refusals themselves is the viewer's back-off (CageViewer.tsx,
 * viewerRefusedTicket.test.ts). A ticket issued writes one line, as before.
 */
import { describe, expect, it } from 'vitest';
import { CloisonError } from '../../shared/errors';
import type { CageDriver, CageExit } from '../cages/cageDriver';
import { CageLifecycle } from '../cages/cageLifecycle';
import { createRpcHandlers, type HandlerDeps } from './rpcHandlers';

function handlersWith(locked: () => boolean) {
  const lines: string[] = [];
  const driver: CageDriver = { start: async () => ({ endpoint: { path: '/nonexistent' }, innerPid: null, exited: new Promise<CageExit>(() => undefined), stop: async () => undefined }) };
  const low = new CageLifecycle({ level: 'low', driver });
  const deps = {
    cages: new Map([['low', low]]),
    journal: { append: (kind: string) => void lines.push(kind) },
    tickets: { issue: () => 'ticket-shellgaps13', ttlMs: 30_000 },
    lock: {
      get locked() {
        return locked();
      },
    },
  } as unknown as HandlerDeps;
  return { handlers: createRpcHandlers(deps), lines, low };
}

const context = { session: 'shell-shellgaps13', transport: 'unix' as const };

async function refusals(ask: () => unknown, times: number): Promise<string[]> {
  const codes: string[] = [];
  for (let i = 0; i < times; i++) {
    try {
      await ask();
    } catch (err) {
      codes.push((err as CloisonError).code);
    }
  }
  return codes;
}

describe('a refused vnc.ticket in the journal', () => {
  it('a cage not running: 30 refusals, no line; the ticket issued once it runs: one line', async () => {
    const { handlers, lines, low } = handlersWith(() => false);
    const codes = await refusals(() => handlers['vnc.ticket']({ level: 'low' }, context), 30);
    expect(codes).toEqual(Array(30).fill('CAGE_UNAVAILABLE'));
    expect(lines).toEqual([]);
    await low.start();
    await handlers['vnc.ticket']({ level: 'low' }, context);
    expect(lines).toEqual(['vnc.ticket']);
    await low.stop();
  });

  it('the workstation locked: 30 refusals, no line', async () => {
    const { handlers, lines } = handlersWith(() => true);
    const codes = await refusals(() => handlers['vnc.ticket']({ level: 'low' }, context), 30);
    expect(codes).toEqual(Array(30).fill('SESSION_LOCKED'));
    expect(lines).toEqual([]);
  });
});
