/**
 * Attack (a host process running as `nobody`, uid 65534: a daemon dropped to nobody and taken
 * over): the policy's scanner ran, with the supervisor as root (--single), as that same uid,
 * dumpable, in a pid namespace the host sees into. Its root (/proc/<pid>/root) is open to any
 * process of the same uid, and holds the staged copy of the file being transferred between levels
 * (and the folders the policy binds for the scanner: clamd's socket, say). The nobody process reads
 * the document on its way up. What a transfer should get: no process outside the scanner's sandbox
 * reads what it scans. The control: the staged copy itself is closed to nobody by its own path.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isInRange, SCANNER_UIDS } from '../system/ownUids';
import { testRoot } from '../testing/testRoots';
import { scanStaged } from './scannerSandbox';

const root = process.getuid?.() === 0;

/** The nobody process: the staged copy by its path, then /run/cloison-scan in the root of every process of its uid. */
const NOBODY_PROBE = `
const fs = require('node:fs');
const read = (p) => { try { return fs.readFileSync(p, 'utf8'); } catch (e) { return 'cannot read: ' + e.code; } };
const own = read(process.argv[2]);
let through = 'no scanner of my uid found';
for (let tries = 0; tries < 50 && through.startsWith('no scanner'); tries++) {
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\\d+$/.test(n) && n !== String(process.pid))) {
    try { if (fs.statSync('/proc/' + pid).uid !== process.getuid()) continue; } catch { continue; }
    const dir = '/proc/' + pid + '/root/run/cloison-scan';
    let names = [];
    try { names = fs.readdirSync(dir); } catch { continue; }
    if (names.length) { through = read(dir + '/' + names[0]); break; }
  }
  if (through.startsWith('no scanner')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
}
process.stdout.write(JSON.stringify({ own, through }) + '\\n');
`;

describe.skipIf(!root)("a host process of nobody's uid against the scanner's sandbox", () => {
  it('cannot read the document being scanned through the sandbox', async () => {
    const tool = testRoot('cloison-scanreach-');
    chmodSync(tool, 0o755);
    // A slow scanner: the transfer's copy stays in its sandbox for 3 s.
    writeFileSync(join(tool, 'scan.sh'), '#!/bin/sh\nsleep 3\necho "OK $(id -u)"\n', { mode: 0o755 });
    const stagedDir = testRoot('cloison-scanreach-staged-');
    chmodSync(stagedDir, 0o700); // the part's staging: closed to others
    const staged = join(stagedDir, 'rapport.txt');
    writeFileSync(staged, 'CONFIDENTIEL: le plan du haut', { mode: 0o644 });
    const probeDir = join(testRoot('cloison-scanreach-probe-'), 'p');
    mkdirSync(probeDir, { mode: 0o755 });
    chmodSync(join(probeDir, '..'), 0o755);
    writeFileSync(join(probeDir, 'probe.cjs'), NOBODY_PROBE, { mode: 0o644 });

    const scanning = scanStaged(staged, ['/bin/sh', join(tool, 'scan.sh')], [tool]);
    // Run beside the scan (the scanner's sandbox gets its filter from this process's event loop).
    const run = await promisify(execFile)('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, join(probeDir, 'probe.cjs'), staged], { encoding: 'utf8', timeout: 20_000 });
    const verdict = await scanning;
    const seen = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { own?: string; through?: string };
    console.log(`nobody on the host: by the staged path: ${seen.own}; through the scanner: ${seen.through}`);
    // The scan ran as it should, as a uid of the scanners' own (what closes the path).
    expect(verdict.clean).toBe(true);
    expect(isInRange(Number(/^OK (\d+)$/.exec(verdict.said)?.[1]), SCANNER_UIDS)).toBe(true);
    expect(seen.own).toMatch(/^cannot read/); // the control
    expect(seen.through ?? '').not.toMatch(/CONFIDENTIEL/);
  }, 60_000);
});
