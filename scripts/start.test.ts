/**
 * `npm start -- --no-window` brings up the whole stack and prints the shell's address with its
 * launch token; Ctrl+C (SIGINT) stops every process it started, cages included. A bad policy is
 * refused before anything starts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function processesUnder(root: string): string[] {
  const out = spawnSync('ps', ['-eo', 'pid,args', '--no-headers'], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => l.includes(root) && !l.includes('ps -eo'));
}

describe('npm start', () => {
  it('starts with --no-window, prints the address with the token, and leaves nothing behind on Ctrl+C', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cloison-start-'));
    const child = spawn(process.execPath, ['scripts/start.mjs', '--no-window', '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!/the shell is at/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(/cage low: running/);
    expect(out).toMatch(/cage high: running/);
    expect(out).toMatch(/no window: the shell is at http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{32}/);
    expect(processesUnder(root).some((l) => l.includes('bwrap'))).toBe(true);
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    await new Promise((r) => setTimeout(r, 500));
    expect(processesUnder(root)).toEqual([]);
  });

  it('refuses a bad policy with file and line, and starts nothing', () => {
    const root = mkdtempSync(join(tmpdir(), 'cloison-start-'));
    const policy = join(root, 'bad.yaml');
    writeFileSync(policy, 'version: 1\nlevels:\n  - id: low\n    rank: zero\n');
    const r = spawnSync(process.execPath, ['out/supervisor/main.js', '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('policy refused, nothing started');
    expect(r.stderr).toContain(`${policy}:4:11: levels[0].rank: expected number`);
    expect(processesUnder(root)).toEqual([]);
  });
});
