/**
 * A supervisor killed in the middle of a file transfer leaves nothing half-written: the partial
 * copy never carries the file's name, and the next supervisor start removes it.
 * Runs the built supervisor (npm test builds first) as its own process, to kill it for real.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FilesConfirmRequest } from '../../shared/rpc';
import { testRoot } from '../testing/realCage';
import { answerAfterReading, rpcClient } from '../testing/rpcClient';
import { supervisorReady } from '../testing/waitFor';

const POLICY = `version: 1
levels:
  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "#1b7f3b", cage: { driver: bwrap, apps: [], uid: 58615, limits: { homeBytes: 1GiB } } }
  - { id: high, rank: 1, label: { fr: Haut, en: High }, colour: "#b3261e", cage: { driver: bwrap, apps: [], uid: 58616, limits: { homeBytes: 1GiB } } }
files:
  up: { maxFileBytes: 2000000000 }
`;

async function startSupervisor(root: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['out/supervisor/main.js', '--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run')], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, CLOISON_LOG_LEVEL: 'warn' },
  });
  await supervisorReady(child.stdout!);
  return child;
}

describe('file broker and a killed supervisor', () => {
  it('leaves no partial file in the destination, and no file under its name', async () => {
    const root = testRoot();
    writeFileSync(join(root, 'p.yaml'), POLICY);
    let sup = await startSupervisor(root);
    const big = join(root, 'state', 'cages', 'low', 'home', 'big.txt');
    writeFileSync(big, Buffer.alloc(600 * 1024 * 1024, 0x62));
    chmodSync(big, 0o644);
    const incoming = join(root, 'state', 'cages', 'high', 'home', 'Incoming', 'low');

    const shell = await rpcClient(join(root, 'run', 'supervisor.sock'));
    const asked = new Promise<FilesConfirmRequest>((resolve) => shell.events.once('onConfirmRequest', resolve));
    void shell.call('files.transfer', { from: 'low', to: 'high', paths: ['big.txt'] });
    await answerAfterReading(shell, { id: (await asked).id, accept: true });
    // Kill it once the copy has started landing.
    const deadline = Date.now() + 30_000;
    while (!(existsSync(incoming) && readdirSync(incoming).length > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    sup.kill('SIGKILL');
    await new Promise((r) => sup.once('exit', r));
    shell.close();
    const left = readdirSync(incoming);
    expect(left.length).toBeGreaterThan(0); // the kill did land in the middle of the copy
    expect(left).not.toContain('big.txt'); // never visible under its name before it is whole
    expect(left.every((n) => n.startsWith('.cloison-partial-'))).toBe(true);

    sup = await startSupervisor(root);
    expect(readdirSync(incoming)).toEqual([]);
    // The crash came between intent and outcome: the journal holds the intent, and no outcome.
    const records = readFileSync(join(root, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; name?: string; decision?: string });
    expect(records.filter((r) => r.kind === 'file.transfer' && r.name === 'big.txt').map((r) => r.decision)).toEqual(['approved']);
    sup.kill('SIGTERM');
    await new Promise((r) => sup.once('exit', r));
    rmSync(root, { recursive: true, force: true }); // homes are reserved whole: leave none behind
  }, 60_000);
});
