/**
 * The manager's SIGHUP: its policy is read again before its part is told (the part then asks under
 * the new policy), and a part already gone does not end root's manager.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { onManagerSighup, SIGHUP_RETRIES } from './managerSighup';

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

  it('a file being written: read again later by the manager itself, the part told once it is taken; never told if it never settles', () => {
    const beingWritten = { accepted: false as const, reason: 'p.yaml is being written', beingWritten: true as const };
    const events: string[] = [];
    const pending: Array<() => void> = [];
    const answers = [beingWritten, beingWritten, { accepted: true as const, sha256: null }];
    onManagerSighup({ reload: () => (events.push('read'), answers.shift()!), partPid: () => 4244, log: () => undefined, signal: (pid, sig) => void events.push(`${sig} to ${pid}`), later: (run) => void pending.push(run) });
    while (pending.length) pending.shift()!();
    expect(events).toEqual(['read', 'read', 'read', 'SIGHUP to 4244']);

    const said: string[] = [];
    let reads = 0;
    onManagerSighup({ reload: () => (reads++, beingWritten), partPid: () => 4244, log: (msg) => void said.push(msg), signal: () => void said.push('signalled'), later: (run) => void pending.push(run) });
    while (pending.length) pending.shift()!();
    expect(reads).toBe(SIGHUP_RETRIES + 1);
    expect(said).toEqual(['SIGHUP not passed to the cloison part: the manager did not take the policy']);
  });

  it('a part still starting (no handler yet) is not signalled: the signal is owed, for its ready', () => {
    const events: string[] = [];
    onManagerSighup({ reload: () => ({ accepted: true, sha256: null }), partPid: () => null, owe: () => void events.push('owed'), log: () => undefined, signal: () => void events.push('signalled') });
    expect(events).toEqual(['owed']);
  });
});
