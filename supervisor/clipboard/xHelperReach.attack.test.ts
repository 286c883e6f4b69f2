/**
 * Attack (a host process running as `nobody`, uid 65534: a daemon that drops to nobody — dnsmasq,
 * openvpn's `user nobody`, many others —, taken over from the network): the X helper sandbox
 * (xSelection.ts's clipboardHelperArgs: xclip for a paste, xrandr for a resize) runs as that same
 * uid, dumpable, in a pid namespace the host's processes see into. Its root (/proc/<pid>/root) is
 * open to any process of the same uid (ptrace's read check: same uid, dumpable, no Yama here), and
 * that root holds the cage's X socket folder, bound at /tmp/.X11-unix. The level's Xvnc asks no
 * cookie (no -auth: the folder's being root's was the only gate): the nobody process connects as a
 * full X client of that level's screen — XTEST keystrokes into a terminal, screenshots — for as long
 * as a helper runs: a paste's xclip stays until an app takes the text (minutes), a resize 0.3 s.
 *
 * Here: an Xvnc (the high cage's, in its own namespaces, its socket folder as the manager makes it,
 * root's 0755 in a root 0700 folder), a paste served into it (writeSelection, the product's helper),
 * and a host process as nobody that looks for a process of its uid whose root holds X0, connects
 * and sends an X connection set-up. What a level should get: no process outside it reaches its X server.
 * The control: the same nobody process cannot reach the socket by its own path.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isInRange, X_HELPER_UIDS } from '../system/ownUids';
import { startedByThisProcess } from '../testing/converterProcesses';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { writeSelection, type SelectionServer } from './xSelection';
import { startCageLikeXvnc } from '../testing/cageLikeXvnc';

const root = process.getuid?.() === 0;
const have = (b: string) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0;
const ready = root && ['Xvnc', 'xclip', 'bwrap', 'unshare', 'setpriv'].every(have);

/** The nobody process: an X set-up on each socket path given, then on X0 in the root of every process of its uid; prints what answered. */
const NOBODY_PROBE = `
const net = require('node:net'), fs = require('node:fs');
const setup = Buffer.from([0x6c, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const tryX = (path) => new Promise((resolve) => {
  const s = net.connect(path);
  s.once('data', (d) => { s.destroy(); resolve(d[0] === 1 ? 'X server accepted' : 'X server refused'); });
  s.once('error', (e) => resolve('cannot connect: ' + e.code));
  s.once('connect', () => s.write(setup));
  setTimeout(() => { s.destroy(); resolve('no answer'); }, 3000);
});
(async () => {
  const own = await tryX(process.argv[2]);
  let through = 'no helper of my uid found';
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\\d+$/.test(n) && n !== String(process.pid))) {
    let uid = -1;
    try { uid = fs.statSync('/proc/' + pid).uid; } catch { continue; }
    if (uid !== process.getuid()) continue;
    const x0 = '/proc/' + pid + '/root/tmp/.X11-unix/X0';
    let exists = false;
    try { exists = fs.statSync(x0).isSocket(); } catch {}
    if (!exists) continue;
    through = x0.replace(pid, '<pid>') + ': ' + await tryX(x0);
    break;
  }
  process.stdout.write(JSON.stringify({ own, through }) + '\\n');
})();
`;

/** A process's /proc file, '' once it is gone. */
function procFile(pid: string, name: 'comm' | 'status'): string {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return '';
  }
}
const comm = (pid: string) => procFile(pid, 'comm').trim();
/** A process's real uid and gid (NaN once gone). */
const ids = (pid: string) => [/^Uid:\s+(\d+)/m, /^Gid:\s+(\d+)/m].map((re) => Number(re.exec(procFile(pid, 'status'))?.[1] ?? NaN));

describe.skipIf(!ready)("a host process of the X helper's uid (nobody) against a level's X server", () => {
  let xvnc: ChildProcess | null = null;
  let served: SelectionServer | null = null;
  afterAll(() => {
    served?.stop();
    if (xvnc?.pid && xvnc.exitCode === null) process.kill(xvnc.pid, 'SIGKILL');
    removeTestRoots();
  });

  it('cannot reach the X server of a level through a helper sandbox serving it a paste', async () => {
    // The high cage's Xvnc as bwrapDriver.ts starts it (no -auth), in namespaces of its own.
    const started = await startCageLikeXvnc('cloison-xhr-');
    xvnc = started.xvnc;
    const x11 = started.x11;
    served = await writeSelection(x11, 'a paste into high');

    const probe = join(testRoot('cloison-xhp-'), 'probe.cjs');
    chmodSync(join(probe, '..'), 0o755);
    writeFileSync(probe, NOBODY_PROBE, { mode: 0o644 });
    const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, probe, join(x11, 'X0')], { encoding: 'utf8', timeout: 20_000 });
    const seen = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { own?: string; through?: string };
    console.log(`nobody on the host: by the socket's path: ${seen.own}; through the helper: ${seen.through}`);
    expect(seen.own).toMatch(/^cannot connect/); // the control: the folder is closed to it
    expect(served.owned).toBe(true); // the helper was serving while the probe ran
    expect(seen.through ?? '').not.toMatch(/X server accepted/);

    // What makes it so: the serving xclip's uid and gid are of their own, and every process of that uid is the helper's.
    const xclip = readdirSync('/proc').find((pid) => /^\d+$/.test(pid) && comm(pid) === 'xclip' && startedByThisProcess(pid));
    expect(xclip, "the serving xclip, this test's").toBeDefined();
    const [uid, gid] = ids(xclip!);
    expect(isInRange(uid!, X_HELPER_UIDS)).toBe(true);
    expect(gid).toBe(uid);
    const sharing = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && ids(pid)[0] === uid && !startedByThisProcess(pid));
    expect(sharing, "processes of the helper's uid outside it").toEqual([]);
  }, 90_000);
});
