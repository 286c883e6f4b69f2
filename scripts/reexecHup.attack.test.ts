/**
 * Attack (#29 review): a reload that lands on the cage manager's second start. Under `sudo npm
 * start` the manager runs with root's whole bounding set, so its restriction (rootPartRestriction.ts)
 * cuts it and executes the process again. The first image held SIGHUP from its first line
 * (managerHupHold.ts), but a handler does not survive execve: a SIGHUP sent then — `kill -HUP`, a
 * reload, at the moment the process had taken its smaller bounding set — met SIGHUP's default and
 * ended the manager (its cages with it). The test watches the process for that moment (its bounding
 * set cut, SIGHUP no longer caught) and sends the signal right then, as a reload would. Seen before
 * (the manager spawned as npm start did, node alone): "exited SIGHUP".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTestRoots, testRoot } from '../supervisor/testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { ROOT_PART_CAPABILITY_NAMES } from '../supervisor/sandbox/rootPartRestriction';
import { ROOT_PART_BOUNDING, rootPartCommand } from './rootPartLaunch.mjs';

const REPO = resolve(__dirname, '..');
const SIGHUP_BIT = 1n << 0n; // signal 1, bit 0 of the SigCgt/SigIgn masks
let manager: ChildProcess | null = null;

afterAll(async () => {
  if (manager && manager.exitCode === null && manager.signalCode === null) {
    const gone = new Promise((r) => manager!.once('exit', r));
    manager.kill('SIGTERM');
    await gone;
  }
  removeTestRoots();
}, 60_000);

/** One field of /proc/PID/status as a number (the capability and signal masks are hex). */
const statusField = (status: string, name: string) => BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)`, 'm').exec(status)?.[1] ?? '0'}`);

/**
 * Starts the built manager with `launch` and sends SIGHUP the moment it executes itself again (its
 * first image caught SIGHUP; now its bounding set is cut and SIGHUP is no longer caught: a handler
 * does not survive execve), if it does.
 */
async function sighupAtReexecution(launch: { command: string; args: string[] }): Promise<{ sent: string | null; outcome: string; stderr: string }> {
  manager = spawn(launch.command, launch.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  manager.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let outcome: string | null = null;
  manager.once('exit', (code, signal) => (outcome ??= `exited ${signal ?? code}`));
  createInterface({ input: manager.stdout! }).on('line', (line) => line.includes('"listening":true') && (outcome ??= 'listening'));
  const deadline = Date.now() + 45_000;
  // The bounding set when the first image was first seen holding SIGHUP: the re-execution's image has a smaller one.
  let boundingWhenCaught: bigint | null = null;
  let sent: string | null = null;
  while (!outcome && Date.now() < deadline) {
    // Read in bursts, the event loop let run between them (the manager's lines).
    for (let i = 0; i < 500 && !sent; i++) {
      let status: string;
      try {
        status = readFileSync(`/proc/${manager.pid}/status`, 'utf8');
      } catch {
        break;
      }
      if ((statusField(status, 'SigCgt') & SIGHUP_BIT) !== 0n) boundingWhenCaught ??= statusField(status, 'CapBnd');
      else if (boundingWhenCaught !== null && statusField(status, 'CapBnd') !== boundingWhenCaught) {
        manager.kill('SIGHUP');
        sent = (statusField(status, 'SigIgn') & SIGHUP_BIT) !== 0n ? 'SIGHUP ignored' : 'SIGHUP at its default';
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  return { sent, outcome: outcome ?? 'neither listening nor ended', stderr };
}

function policyIn(root: string): string {
  const policyFile = join(root, 'policy.yaml');
  writeFileSync(policyFile, twoLevelPolicy({ low: bwrapCage({ uid: 58519 }), high: bwrapCage({ uid: 58520 }) }));
  return policyFile;
}

describe("the cage manager's re-execution to its smaller bounding set (sudo npm start)", () => {
  it('as npm start launches it, a SIGHUP sent the moment it executes itself again (if it does) does not end it', async () => {
    if (!existsSync(join(REPO, 'out/supervisor/cageManager.js'))) throw new Error('npm run build first');
    if (process.getuid?.() !== 0) throw new Error('run as root: the manager executes itself again only with root\'s whole bounding set');
    const root = testRoot('cloison-reexechup-');
    chmodSync(root, 0o711);
    const args = [join(REPO, 'out/supervisor/cageManager.js'), '--policy', policyIn(root), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--no-part'];
    const { sent, outcome, stderr } = await sighupAtReexecution(rootPartCommand(process.execPath, args));
    console.log(sent ? `re-executed: signal sent while ${sent}` : 'not re-executed: no second image to signal');
    expect(outcome, stderr).toBe('listening');
    expect(manager!.signalCode).toBeNull();
  }, 60_000);

  it("npm start's bounding set is the root part's", () => {
    expect(ROOT_PART_BOUNDING.map((c) => `CAP_${c.toUpperCase()}`).sort()).toEqual([...ROOT_PART_CAPABILITY_NAMES].sort());
  });
});
