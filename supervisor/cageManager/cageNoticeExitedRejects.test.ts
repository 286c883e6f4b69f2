/**
 * A cage whose `exited` rejects (its driver lost, not a clean end): the part's pending
 * `cage.notice` is answered ended, and root's manager sees no unhandled rejection (which would end it).
 */
import { describe, expect, it } from 'vitest';
import type { RunningCage } from '../cages/cageDriver';
import { cageNoticeExecutor } from './cageNoticeExecutor';
import type { ManagedCages } from './managedCages';

describe('cage.notice when the cage\'s end is a failure', () => {
  it('answers the pending request ended, with no unhandled rejection', async () => {
    let fail!: (err: Error) => void;
    const exited = new Promise<number>((_resolve, reject) => (fail = reject));
    const cage = { exited, onNotice: () => undefined } as unknown as RunningCage;
    const execute = cageNoticeExecutor({ cages: { cage: () => cage } as unknown as ManagedCages });
    const pending = execute({ op: 'cage.notice', level: 'low' });
    fail(new Error('the cage\'s driver lost its launcher'));
    expect(await pending).toEqual({ ended: true });
    // Asked again after the end: ended at once.
    expect(await execute({ op: 'cage.notice', level: 'low', after: 0 })).toEqual({ ended: true });
  }, 10_000);
});
