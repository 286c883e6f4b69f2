/**
 * One bwrap cage's start, step by step (not a benchmark): the driver's own steps from its log, and
 * with `strace -f -ttt -e trace=execve` around this process, every program the start runs.
 *
 *   node --import tsx bench/cageStartSteps.ts [low|high] [bare]
 *
 * Prints ms after driver.start() for: cage running (the manager's), the first framebuffer update an
 * RFB client gets (a full frame request right after running), the session's applications.
 * `bare`: no application (Xvnc, the window manager, the launcher only). Uids 56700–56709.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { parsePolicy } from '../supervisor/policy/policyLoader';
import type { BwrapCagePolicy } from '../shared/policy';
import { DEFAULT_POLICY_YAML } from '../supervisor/policy/defaultPolicy';
import { BwrapDriver as CurrentDriver, bwrapCagePaths } from '../supervisor/cages/bwrapDriver';
import { testRoot } from '../supervisor/testing/testRoots';

/** Two uids a run (low, high), four runs at once at most (testing/testUids.ts). */
const CAGE_UID_BASE = 56_700 + (process.pid % 4) * 2;
// CAGE_STEPS_DRIVER: another copy of the driver (an A/B of a change to the session), by path.
const BwrapDriver: typeof CurrentDriver = process.env.CAGE_STEPS_DRIVER ? ((await import(process.env.CAGE_STEPS_DRIVER)) as { BwrapDriver: typeof CurrentDriver }).BwrapDriver : CurrentDriver;
const level = process.argv[2] === 'high' ? 'high' : 'low';
const bare = process.argv.includes('bare');
const policy = parsePolicy(DEFAULT_POLICY_YAML, 'default', 'whole');
const index = policy.levels.findIndex((l) => l.id === level);
const cage = { ...(policy.levels[index]!.cage as BwrapCagePolicy), geometry: '1268x718' };
if (bare) cage.apps = [];
const root = testRoot('cloison-cagesteps-');
const t0 = performance.now();
const at = () => Math.round(performance.now() - t0);
const lines: string[] = [];
const driver = new BwrapDriver({
  level,
  cage,
  paths: bwrapCagePaths(join(root, 'state'), join(root, 'run'), level),
  uid: CAGE_UID_BASE + index,
  sound: process.argv.includes('sound') ? { micAllowed: false } : null,
  desktopColour: level === 'low' ? '#16512a' : '#5e1f1b',
  log: (msg, fields) => lines.push(`${String(at()).padStart(6)} ms  ${msg} ${fields ? JSON.stringify(fields) : ''}`),
});
console.log(`EPOCH ${Date.now() - at()}`);
const running = await driver.start();
lines.push(`${String(at()).padStart(6)} ms  start() resolved`);
await firstFrame((running.endpoint as { path: string }).path);
lines.push(`${String(at()).padStart(6)} ms  first framebuffer update read (full request after running)`);
await new Promise((r) => setTimeout(r, Number(process.env.CAGE_STEPS_WAIT_MS ?? 6000)));
await running.stop();
rmSync(root, { recursive: true, force: true });
console.log(lines.join('\n'));

/** RFB 3.8, security None, a full non-incremental update: resolves at the update's first bytes. */
function firstFrame(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path });
    let stage = 0;
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 0 && buf.length >= 12) { s.write('RFB 003.008\n'); buf = buf.subarray(12); stage = 1; }
      if (stage === 1 && buf.length >= 2) { s.write(Buffer.from([1])); buf = buf.subarray(1 + buf[0]!); stage = 2; }
      if (stage === 2 && buf.length >= 4) { s.write(Buffer.from([1])); buf = buf.subarray(4); stage = 3; }
      if (stage === 3 && buf.length >= 24) {
        const nameLen = buf.readUInt32BE(20);
        if (buf.length < 24 + nameLen) return;
        const w = buf.readUInt16BE(0), h = buf.readUInt16BE(2);
        buf = buf.subarray(24 + nameLen);
        const req = Buffer.alloc(10); req[0] = 3; req[1] = 0; req.writeUInt16BE(w, 6); req.writeUInt16BE(h, 8);
        s.write(req); stage = 4;
      }
      if (stage === 4 && buf.length >= 1) { s.destroy(); resolve(); }
    });
    s.on('error', reject);
  });
}
