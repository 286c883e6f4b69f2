/**
 * A kept stop (--keep-cages-on-stop) keeps the cages only for a service restart: never for Ctrl+C,
 * nor while the machine shuts down. systemd's answer is read from `systemctl is-system-running`;
 * the programs below give the answers systemd gives (this machine may have no systemd running: the
 * real unit's stop at a shutdown is deploy/unitRestart.test.ts's last case, the manager with cages).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keepsCages, machineStopping } from './keptCagesStop';

describe('keepsCages', () => {
  it('keeps them only for SIGTERM, with the option, while the machine is not shutting down', () => {
    expect(keepsCages('SIGTERM', true)).toBe(true);
    expect(keepsCages('SIGTERM', true, true)).toBe(false);
    expect(keepsCages('SIGINT', true)).toBe(false);
    expect(keepsCages('SIGTERM', false)).toBe(false);
    expect(keepsCages('SIGHUP', true)).toBe(false);
  });
});

describe('machineStopping', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-keptstop-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** A stand-in for systemctl that answers is-system-running as systemd does: the state on stdout, non-zero unless "running". */
  const answering = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n[ "$1" = is-system-running ] || exit 2\n${body}\n`, { mode: 0o755 });
    return path;
  };

  it('is yes only for systemd\'s "stopping" (a shutdown.target job queued or running)', async () => {
    expect(await machineStopping(answering('stopping', 'echo stopping; exit 1'))).toBe(true);
    for (const state of ['running', 'degraded', 'starting', 'maintenance', 'offline', 'unknown']) {
      expect(await machineStopping(answering(state, `echo ${state}; exit ${state === 'running' ? 0 : 1}`)), state).toBe(false);
    }
  });

  it('is no without systemctl, or when it does not answer in time: the stop goes on as for a restart', async () => {
    expect(await machineStopping(join(dir, 'absent'))).toBe(false);
    expect(await machineStopping(answering('silent', 'exec sleep 30'))).toBe(false);
  }, 10_000);
});
