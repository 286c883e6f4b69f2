/**
 * `cloison policy reload` with a cage manager (#29 review): run as root, it signals the manager
 * itself (SIGHUP: the moment is the administrator's, never the part's) and prints the verdict the
 * manager journals, then whether the part runs the same text. Here the manager is a stand-in
 * process journaling a verdict at each SIGHUP; the real one: cageManager/policyReloadThroughManager.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { MANAGER_WHEREABOUTS_FILE, processStartTime } from '../cageManager/managerWhereabouts';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { runCliWithSupervisor } from './cloison';

const SHA = 'b'.repeat(64);
let stand: ChildProcess | null = null;
let server: Server | null = null;

afterEach(async () => {
  stand?.kill('SIGKILL');
  stand = null;
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = null;
  removeTestRoots();
});

/** A stand-in manager journaling `verdict` at each SIGHUP (and counting them), its whereabouts written as the manager writes them. */
async function standInManager(verdict: Record<string, string>): Promise<{ runDir: string; hups: () => number; socket: string }> {
  const root = testRoot('cloison-clireload-');
  const runDir = join(root, 'run');
  mkdirSync(runDir, { mode: 0o711 });
  const journal = join(root, 'journal.jsonl');
  writeFileSync(journal, `${JSON.stringify({ kind: 'policy.reload', actor: 'supervisor', decision: 'applied', asker: 'SIGHUP', sha256: 'old' })}\n`);
  const line = JSON.stringify({ kind: 'policy.reload', actor: 'supervisor', asker: 'SIGHUP', ...verdict });
  stand = spawn(process.execPath, ['-e', `process.on('SIGHUP', () => { require('fs').appendFileSync(${JSON.stringify(journal)}, ${JSON.stringify(line + '\n')}); console.log('hup'); }); console.log('ready'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let hups = 0;
  await new Promise<void>((res) => createInterface({ input: stand!.stdout! }).on('line', (l) => (l === 'ready' ? res() : hups++)));
  writeFileSync(join(runDir, MANAGER_WHEREABOUTS_FILE), JSON.stringify({ pid: stand.pid, started: processStartTime(stand.pid!), journal }), { mode: 0o644 });
  // The part's admin socket: policy.get answers the text it runs.
  const socket = join(root, 'admin.sock');
  server = createServer((sock) => sock.on('data', () => sock.end(`${JSON.stringify({ id: 1, ok: true, result: { source: 'p.yaml', sha256: SHA } })}\n`)));
  await new Promise<void>((resolve) => server!.listen(socket, resolve));
  return { runDir, hups: () => hups, socket };
}

const run = async (args: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCliWithSupervisor(args, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join('\n'), err: err.join('\n') };
};

describe('cloison policy reload with a cage manager', () => {
  it("signals the manager, prints its journal's verdict, and that the part runs the same text", async () => {
    const m = await standInManager({ decision: 'applied', sha256: SHA, levels: 'low,high' });
    const r = await run(['policy', 'reload', '--socket', m.socket, '--manager-run-dir', m.runDir]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^decision: applied$/m);
    expect(r.out).toMatch(new RegExp(`^sha256: ${SHA}$`, 'm'));
    expect(r.out).toMatch(/^cloison part: runs it$/m);
    expect(m.hups()).toBe(1);
  }, 30_000);

  it("a policy the manager refuses: its file:line reason, exit 1", async () => {
    const m = await standInManager({ decision: 'refused', reason: 'p.yaml:3:1: levels: expected a list' });
    const r = await run(['policy', 'reload', '--socket', m.socket, '--manager-run-dir', m.runDir]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^reason: p\.yaml:3:1: levels: expected a list$/m);
  }, 30_000);

  it('whereabouts another account could have written, or of a manager gone: no signal sent', async () => {
    const m = await standInManager({ decision: 'applied', sha256: SHA });
    chmodSync(join(m.runDir, MANAGER_WHEREABOUTS_FILE), 0o666);
    const open = await run(['policy', 'reload', '--socket', m.socket, '--manager-run-dir', m.runDir]);
    expect(open.code).toBe(1);
    expect(open.err).toMatch(/not root's alone/);
    chmodSync(join(m.runDir, MANAGER_WHEREABOUTS_FILE), 0o644);
    stand!.kill('SIGKILL');
    await new Promise((r) => stand!.once('exit', r));
    const gone = await run(['policy', 'reload', '--socket', m.socket, '--manager-run-dir', m.runDir]);
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/no longer runs/);
    expect(m.hups()).toBe(0);
  }, 30_000);
});
