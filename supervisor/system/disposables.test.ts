/** Stopping runs last-started first, and one part that fails to stop does not keep the others running. */
import { describe, expect, it } from 'vitest';
import { Disposables } from './disposables';

describe('disposables', () => {
  it('runs in reverse order, awaits each, logs a failure and goes on', async () => {
    const ran: string[] = [];
    const logged: Array<Record<string, unknown> | undefined> = [];
    const d = new Disposables((_msg, fields) => logged.push(fields));
    d.add('journal', () => ran.push('journal'));
    d.add('socket', async () => {
      await new Promise((r) => setTimeout(r, 20));
      ran.push('socket');
    });
    d.add('mount', () => {
      throw new Error('device busy');
    });
    d.add('cages', async () => {
      throw new Error('gone already');
    });
    await d.disposeAll();
    expect(ran).toEqual(['socket', 'journal']);
    expect(logged).toEqual([
      { part: 'cages', error: 'gone already' },
      { part: 'mount', error: 'device busy' },
    ]);
    await d.disposeAll(); // each runs once
    expect(ran).toEqual(['socket', 'journal']);
  });
});
