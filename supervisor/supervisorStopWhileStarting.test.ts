/**
 * A stop asked for while the supervisor starts (Ctrl+C as the shell opens, the unit stopped during
 * its start) stops everything it started: no cage process outlives it. Cages survive a supervisor
 * that dies on purpose (issue #28), so a start that failed *because* of the stop and ended the
 * process before the stop had reached the cages left them running, each holding its reserved home
 * (seen: npm start's Ctrl+C while the sound part was starting).
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { testRoot } from './testing/realCage';
import { waitFor } from './testing/waitFor';
import { twoLevelPolicy } from './testing/testPolicy';

const UIDS = { low: 59895, high: 59896 } as const;
const cage = (uid: number) => `{ driver: bwrap, network: none, geometry: 800x600, uid: ${uid}, apps: [] }`;

function cageProcesses(): string[] {
  return Object.values(UIDS).flatMap((uid) => spawnSync('ps', ['-u', String(uid), '-o', 'pid=,args='], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean));
}

/**
 * Starts the built supervisor and sends SIGINT `delayMs` after its start or its "listening" line;
 * how it ended: 0, or killed by the SIGINT itself when that came before its handler (nothing started yet).
 */
async function interruptedStart(delayMs: number, after: 'spawn' | 'listening'): Promise<string> {
  const root = testRoot();
  writeFileSync(join(root, 'p.yaml'), twoLevelPolicy({ low: cage(UIDS.low), high: cage(UIDS.high) }));
  const child = spawn(process.execPath, ['out/supervisor/main.js', '--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--browser-shell', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, CLOISON_LOG_LEVEL: 'warn' },
  });
  if (after === 'spawn') setTimeout(() => child.kill('SIGINT'), delayMs);
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (after === 'listening' && (JSON.parse(line) as { listening?: boolean }).listening) setTimeout(() => child.kill('SIGINT'), delayMs);
  });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code === 0 || signal === 'SIGINT' ? 'ended' : `exit ${code} ${signal ?? ''}`)));
}

describe('a stop asked for while the supervisor starts', () => {
  // From the moment a shell can connect (the cages starting) to past the moment they run (the
  // sound part and the rest of the start still under way).
  // Before it: while the sockets, USB and the smart cards are being prepared, before any cage.
  it.each([
    [300, 'spawn'],
    [700, 'spawn'],
    [0, 'listening'],
    [500, 'listening'],
    [1500, 'listening'],
    [3000, 'listening'],
  ] as const)('SIGINT %i ms after its %s: the supervisor ends normally and no cage process is left', async (delayMs, after) => {
    expect(cageProcesses()).toEqual([]);
    expect(await interruptedStart(delayMs, after)).toBe('ended');
    // Killed cage processes are gone once the kernel has run their exit: within 500 ms on a quiet machine, later on a loaded one.
    await waitFor(() => cageProcesses().length === 0, 'the cages\' processes gone', 10_000).catch(() => undefined);
    expect(cageProcesses()).toEqual([]);
  }, 90_000);
});
