/**
 * Test tool: the built cage manager with its own part, given an administrator's reload (the policy
 * file rewritten, then SIGHUP) the moment it says it starts high's cage itself — before its part has
 * asked for it (cageStartExecutor.ts `startEarly`). Resolves once the part is ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { logRecords } from './logRecords';
import { testRoot } from './testRoots';
import { waitFor } from './waitFor';

const REPO = resolve(__dirname, '..', '..');

export interface ReloadedManager {
  /** The manager's log records so far. */
  logged(): Array<Record<string, unknown>>;
  said(msg: string, level?: string): boolean;
  /** The part's "ready" announcement. */
  ready: Record<string, unknown>;
  stop(): Promise<void>;
}

export async function managerReloadedAtEarlyStart(name: string, policy: string, reloadedPolicy: string): Promise<ReloadedManager> {
  if (!existsSync(join(REPO, 'out/supervisor/cageManager.js'))) throw new Error('out/supervisor/cageManager.js is missing: npm run build');
  const root = testRoot(`cloison-${name}-`);
  chmodSync(root, 0o711);
  writeFileSync(join(root, 'p.yaml'), policy);
  const argv = [join(REPO, 'out/supervisor/cageManager.js'), '--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--port', '0', '--log-level', 'info'];
  const manager: ChildProcess = spawn(process.execPath, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const logged = () => logRecords(stderr);
  const said = (msg: string, level?: string) => logged().some((l) => l.msg === msg && (level === undefined || l.level === level));
  const lines: Array<Record<string, unknown>> = [];
  let reloaded = false;
  manager.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (!reloaded && said('cage started before the part asks', 'high')) {
      reloaded = true;
      writeFileSync(join(root, 'p.yaml'), reloadedPolicy);
      // Settled (saved two seconds ago): the manager reads it at this SIGHUP, not a moment later (settledPolicyText.ts).
      utimesSync(join(root, 'p.yaml'), new Date(Date.now() - 2000), new Date(Date.now() - 2000));
      manager.kill('SIGHUP');
    }
  });
  createInterface({ input: manager.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  const stop = async () => {
    if (manager.exitCode !== null || manager.signalCode !== null) return;
    const gone = new Promise((r) => manager.once('exit', r));
    manager.kill('SIGTERM');
    await gone;
  };
  await waitFor(() => lines.some((l) => l.ready === true) || manager.exitCode !== null, 'the part\'s ready line', 120_000, 100).catch(() => undefined);
  const ready = lines.find((l) => l.ready === true);
  if (!ready) {
    await stop();
    throw new Error(`the part never said ready: ${stderr.slice(-6000)}`);
  }
  await waitFor(() => said('policy reloaded'), 'the reload', 60_000, 100);
  return { logged, said, ready, stop };
}
