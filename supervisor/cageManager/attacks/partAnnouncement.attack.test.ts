/**
 * A compromised `cloison` part announces what `npm start` would act on: a `file:` address for the
 * user's Chromium and the root supervisor's admin socket as the shell's, then an honest line. The
 * real manager (as root, the part as `cloison`) prints the honest line only, as the root
 * supervisor's, and logs the other as refused: nothing the part says reaches its stdout unchecked.
 */
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { testRoot } from '../../testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { waitFor } from '../../testing/waitFor';

const REPO = resolve(__dirname, '..', '..', '..');

describe('a hostile part\'s announcements', () => {
  it('the manager prints the honest line only; the file: address and the admin socket are refused', async () => {
    const root = testRoot('cloison-pa-');
    chmodSync(root, 0o711);
    writeFileSync(join(root, 'p.yaml'), twoLevelPolicy({ low: bwrapCage({ uid: 58532 }), high: bwrapCage({ uid: 58533 }) }));
    // The part, as cloison: restricted as every part, then its announcements.
    const part = join(root, 'hostilePart.ts');
    writeFileSync(part, `
import { restrictCloisonPart } from ${JSON.stringify(join(REPO, 'supervisor/cageManager/cloisonPartRestriction.ts'))};
import { managerChannel } from ${JSON.stringify(join(REPO, 'supervisor/cageManager/socketHandOver.ts'))};
const start = restrictCloisonPart() as { partRunDir: string };
const channel = managerChannel();
channel.send({ type: 'ready' });
channel.send({ type: 'announce', state: 'listening', url: 'file:///etc/shadow', origin: null, rpcSocket: start.partRunDir + '/supervisor.sock', cages: [] });
channel.send({ type: 'announce', state: 'listening', url: null, origin: null, rpcSocket: '/run/cloison/admin.sock', cages: [] });
channel.send({ type: 'announce', state: 'ready', url: null, origin: null, rpcSocket: start.partRunDir + '/supervisor.sock', cages: [] });
setInterval(() => undefined, 1000);
`, { mode: 0o644 });
    const manager = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'supervisor/cageManager/managerMain.ts'), '--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--part', part], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let stderr = '';
    manager.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: manager.stdout! }).on('line', (line) => lines.push(line));
    try {
      await waitFor(() => lines.some((l) => l.includes('"ready":true')) || manager.exitCode !== null, 'the honest ready line', 60_000, 100);
      console.log(`the manager's stdout: ${JSON.stringify(lines)}`);
      expect(lines.join('\n')).not.toMatch(/file:|admin\.sock/);
      expect(lines.map((l) => Object.keys(JSON.parse(l) as object)[0])).toEqual(['listening', 'ready']);
      expect(lines[0]).toContain('"socket"'); // the manager's own line
      await waitFor(() => (stderr.match(/announcement refused/g) ?? []).length >= 2, 'both refusals logged', 10_000, 100);
    } finally {
      const gone = new Promise((r) => manager.once('exit', r));
      manager.kill('SIGTERM');
      await gone;
    }
  }, 90_000);
});
