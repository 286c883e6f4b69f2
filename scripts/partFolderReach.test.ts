/**
 * npm start with a --run-dir the cloison account cannot enter (under a 0700 folder of root's): it
 * copied the part's code, mounted the part's staging area and the media root, and started the
 * part, which failed with "Cannot find module 'koffi'" — nothing said which folder, nor whose
 * access. Now said before anything is made. And a manager that dies on its way (killed, or a
 * signal before its handlers) no longer leaves its run folder's mounts behind: npm start takes
 * them down once it is gone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../supervisor/testing/waitFor';

const rootless = process.getuid?.() !== 0;
const noCloison = spawnSync('id', ['-u', 'cloison'], { stdio: 'ignore' }).status !== 0;
const roots: string[] = [];

/** The mount points at or under `folder`, as this process's namespace sees them. */
const mountsUnder = (folder: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point === folder || point.startsWith(`${folder}/`));

/** A policy with one level whose cage is not ours (a VNC endpoint): nothing of a cage is started. */
function policyIn(root: string): string {
  const file = join(root, 'policy.yaml');
  writeFileSync(file, `version: 1\nlevels:\n  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "#00aa00", cage: { driver: vnc, endpoint: { socket: ${join(root, 'none.sock')} } } }\n`, { mode: 0o644 });
  return file;
}

describe.skipIf(rootless || noCloison)('npm start and the folders its cloison part runs from', () => {
  afterEach(() => {
    for (const root of roots.splice(0)) {
      for (const point of mountsUnder(root).reverse()) spawnSync('umount', ['-l', point]);
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a --run-dir under a folder the cloison account cannot enter: refused at once, naming the folder, the account and what to do; nothing made or mounted', () => {
    const root = mkdtempSync(join(tmpdir(), 'cloison-reach-'));
    roots.push(root);
    chmodSync(root, 0o711);
    const closed = join(root, 'closed');
    mkdirSync(closed, { mode: 0o700 });
    const run = spawnSync(process.execPath, ['scripts/start.mjs', '--no-window', '--policy', policyIn(root), '--state-dir', join(root, 's'), '--run-dir', join(closed, 'r')], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(`the cloison account cannot enter ${closed} (mode 0700, uid 0), above the --run-dir ${join(closed, 'r')}`);
    expect(run.stdout).toContain(`chmod o+x ${closed}`);
    expect(run.stdout + run.stderr).not.toMatch(/koffi|Cannot find module/);
    // Refused before anything: no code copied, no part folder, nothing mounted.
    expect(readdirSync(closed)).toEqual([]);
    expect(existsSync(join(root, 's'))).toBe(false);
    expect(mountsUnder(root)).toEqual([]);
  }, 90_000);

  it('a manager that dies while it runs leaves nothing mounted in its run folder once npm start has stopped', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cloison-reach-'));
    roots.push(root);
    chmodSync(root, 0o711);
    const runDir = join(root, 'r');
    const child = spawn(process.execPath, ['scripts/start.mjs', '--no-window', '--policy', policyIn(root), '--state-dir', join(root, 's'), '--run-dir', runDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    child.stderr.on('data', () => undefined);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await waitFor(() => mountsUnder(runDir).length >= 2 && /the shell is at/.test(out), "the manager's mounts (the part's staging area, the media root) and the part's address", 60_000, 100);
    const mounted = mountsUnder(runDir);
    // The manager, as a crash or the OOM killer ends it: no stop of its own.
    const manager = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .find((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(join(`${runDir}-code`, 'out/supervisor/cageManager.js'));
        } catch {
          return false;
        }
      });
    expect(manager, 'the cage manager').toBeDefined();
    process.kill(Number(manager), 'SIGKILL');
    expect(await exited).not.toBe(0);
    console.log(`mounted while it ran: ${mounted.join(', ')}; left after npm start stopped: ${mountsUnder(runDir).join(', ') || 'none'}`);
    expect(mountsUnder(runDir)).toEqual([]);
  }, 120_000);
});
