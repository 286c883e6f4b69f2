/**
 * The manager's SIGHUP: its policy is read again before its part is told (the part then asks under
 * the new policy), and a part already gone does not end root's manager.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { onManagerSighup } from './managerSighup';

describe('the manager\'s SIGHUP', () => {
  it('reloads the manager\'s policy first, then signals the part', () => {
    const events: string[] = [];
    onManagerSighup({ reload: () => (events.push('manager reloaded'), { accepted: true, sha256: null }), partPid: () => 4242, log: () => undefined, signal: (pid, sig) => void events.push(`${sig} to ${pid}`) });
    expect(events).toEqual(['manager reloaded', 'SIGHUP to 4242']);
  });

  it('a part that has just ended (no such process): no throw, the manager reloaded and says so', () => {
    // Above the kernel's largest pid: certainly no process (and never another's).
    const gone = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;
    const said: string[] = [];
    let reloaded = false;
    expect(() => onManagerSighup({ reload: () => ((reloaded = true), { accepted: true, sha256: null }), partPid: () => gone, log: (msg, fields) => void said.push(`${msg} ${String(fields?.reason)}`) })).not.toThrow();
    expect(reloaded).toBe(true);
    expect(said).toEqual([expect.stringContaining('ESRCH')]);
  });
});
