/**
 * Attack (attack-7): a local user (or a container) whose subordinate uid range covers the X
 * helper's own uids. ownUids.ts draws each run's uid above 3 900 000 000 and says no account,
 * group or other process uses it — but nothing reads /etc/subuid and /etc/subgid, and the ranges
 * handed out there reach that high: podman-run(1)'s --userns=auto asks for
 * `containers:2147483647:2147483648` (every uid from 2^31 - 1 to 2^32 - 2), and an administrator
 * may give a person a range as wide. A holder of such a range maps any of those uids into a user
 * namespace of its own (newuidmap, setuid root, checks /etc/subuid and writes the map), becomes
 * it, and is then the same kernel uid as the helper: it opens /proc/<xclip>/root/tmp/.X11-unix/X0 of
 * a helper serving a paste (ptrace's read check: same uid, dumpable) and is an X client of that
 * level's Xvnc, which asks no cookie: keystrokes in, screenshots out (xHelperReach.attack.test.ts's
 * hole, back through the subuid range).
 *
 * Here: an Xvnc as the cage's (xHelperReach's set-up), a paste served into it (writeSelection, the
 * product's helper), a local user (uid 52750 + k) granted `alice:2147483647:2147483648` in a
 * /etc/subuid bind-mounted over the host's in a mount namespace of the test's own; newuidmap is not
 * installed here, so root writes the one-line map newuidmap would have written for her ("0 U 1", U
 * inside her grant). Her process then becomes uid 0 of her namespace — kernel uid U — and knocks.
 * The control: the same user, unmapped, cannot reach the socket through the helper's root nor
 * signal the helper.
 *
 * Seen (run against the code as it is): the X socket stays out of reach — the kernel's capability
 * check for /proc/<pid>/root wants the caller in the target's user namespace, which a subuid
 * holder's process never is — but kill(2) compares uids only: the mapped process SIGKILLs the
 * serving xclip (the paste into the level is gone; the same for a resize, a clipboard read, the
 * file scanner's or the converter's runs, whose ranges the same grant covers), and can SIGSTOP any
 * of them so the part waits out its timeouts. ownUids.ts says no process outside a run can signal it.
 *
 * What the level should get: no process outside it reaches its X server — the helper's uid never
 * one a subuid/subgid range (or an account, or a group) holds.
 *
 * After the fix (uidfix-7): the product reads the test's file as its /etc/subuid and /etc/subgid
 * (readSubordinateIdsFrom). Podman's grant holds the whole X helper range: the paste is refused,
 * naming the grant and its file, and no helper runs. The same grant less the range's last 16 uids:
 * the helper takes one of those, and Alice, mapped onto the nearest uid hers to map, neither
 * reaches the X socket nor signals the helper.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInRange, X_HELPER_UIDS } from './ownUids';
import { readSubordinateIdsFrom } from './subordinateIds';
import { startedByThisProcess } from '../testing/converterProcesses';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { runMappedOnto } from '../testing/subuidNamespace';
import { writeSelection, type SelectionServer } from '../clipboard/xSelection';
import { startCageLikeXvnc } from '../testing/cageLikeXvnc';

const ALICE = 52_750 + (process.pid % 50);
/** podman-run(1), --userns=auto: the range it asks /etc/subuid and /etc/subgid to give. */
const GRANT = { start: 2_147_483_647, count: 2_147_483_648 };
const root = process.getuid?.() === 0;
const have = (b: string) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0;
const ready = root && ['Xvnc', 'xclip', 'bwrap', 'unshare', 'setpriv', '/usr/bin/python3'].every(have);

/** Connects to the X socket path given, sends an X set-up, prints what answered, with its own uid. */
const PROBE = `
const net = require('node:net');
const setup = Buffer.from([0x6c, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const s = net.connect(process.argv[2]);
const done = (r) => { process.stdout.write(JSON.stringify({ uid: process.getuid(), result: r }) + '\\n'); process.exit(0); };
s.once('data', (d) => { s.destroy(); done(d[0] === 1 ? 'X server accepted' : 'X server refused'); });
s.once('error', (e) => done('cannot connect: ' + e.code));
s.once('connect', () => s.write(setup));
setTimeout(() => { s.destroy(); done('no answer'); }, 3000);
`;

/** Alice's process, mapped (subuidNamespace.ts): the X probe, then a SIGKILL to the helper. */
const PROBE_THEN_KILL = `
import json, signal, subprocess
print(subprocess.run(sys.argv[2:], capture_output=True, text=True).stdout.strip(), flush=True)
try:
    os.kill(int(sys.argv[1]), signal.SIGKILL)
    print(json.dumps({'kill': 'sent'}), flush=True)
except OSError as e:
    print(json.dumps({'kill': 'refused: ' + (os.strerror(e.errno))}), flush=True)
`;

function procFile(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}
const uidOf = (pid: string) => Number(/^Uid:\s+(\d+)/m.exec(procFile(pid))?.[1] ?? NaN);
const commOf = (pid: string) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

/** Runs the probe as Alice mapped onto kernel uid `as` in a namespace of hers (root writing newuidmap's map). */
async function probeAsMapped(probe: string, target: string, victim: string, subuid: string, as: number): Promise<{ kill: string; result: string }> {
  // newuidmap's part: the grant in /etc/subuid covers `as`, so it writes her map.
  const line = readFileSync(subuid, 'utf8').trim().split(':').map(Number);
  expect(as >= line[1]! && as < line[1]! + line[2]!, 'the uid lies in her grant').toBe(true);
  // Alice's view of /etc/subuid (what newuidmap would check) in a mount namespace of the test's own.
  const { out, err } = await runMappedOnto({
    user: ALICE,
    as,
    then: PROBE_THEN_KILL,
    args: [victim, process.execPath, probe, target],
    prefix: ['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$1" /etc/subuid && mount --bind "$1" /etc/subgid && shift && exec "$@"', 'sh', subuid],
  });
  const lines = out.trim().split('\n').filter((l) => l.startsWith('{'));
  expect(lines.length, `the namespace's answers (${err})`).toBe(2);
  return { ...(JSON.parse(lines[0]!) as { result: string }), ...(JSON.parse(lines[1]!) as { kill: string }) };
}

describe.skipIf(!ready)("a subuid range over the X helper's own uids", () => {
  let xvnc: ChildProcess | null = null;
  let served: SelectionServer | null = null;
  afterAll(() => {
    served?.stop();
    readSubordinateIdsFrom(null);
    if (xvnc?.pid && xvnc.exitCode === null) process.kill(xvnc.pid, 'SIGKILL');
    removeTestRoots();
  });

  /** Xvnc as the cage's, once for both cases (xHelperReach's set-up): its X socket folder. */
  let xSocketFolder: string | null = null;
  beforeAll(async () => {
    const started = await startCageLikeXvnc('cloison-sub-');
    xvnc = started.xvnc;
    xSocketFolder = started.x11;
  }, 60_000);

  /** Alice's /etc/subuid and /etc/subgid (one file: her grant in both), which the product reads too. */
  function grantAlice(folder: string, start: number, count: number): string {
    const subuid = join(folder, 'subuid');
    writeFileSync(subuid, `alice:${start}:${count}\n`, { mode: 0o644 });
    readSubordinateIdsFrom([subuid, subuid]);
    return subuid;
  }

  it("refuses the helper's run when podman's userns=auto grant holds all its uids, saying which grant", async () => {
    const folder = testRoot('cloison-sup-');
    const subuid = grantAlice(folder, GRANT.start, GRANT.count);
    const refused = await writeSelection(xSocketFolder!, 'a paste into high').then(() => 'served', (err: Error) => err.message);
    console.log(`podman's grant: ${refused}`);
    expect(refused).toContain(`no uid of its own is left for the X helper's sandbox: ${X_HELPER_UIDS.base}-${X_HELPER_UIDS.base + X_HELPER_UIDS.size - 1} is all granted`);
    expect(refused).toContain(`${subuid}: alice:${GRANT.start}:${GRANT.count}`);
    const xclips = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && commOf(pid) === 'xclip' && startedByThisProcess(pid));
    expect(xclips, 'no helper of this test runs').toEqual([]);
  }, 60_000);

  it("gives its holder no hold on a level's helper serving a paste (its X server, its signals)", async () => {
    const folder = testRoot('cloison-sup-');
    chmodSync(folder, 0o755);
    // Her grant: podman's, less the X helper's last FREE uids (and every uid above them).
    const FREE = 16;
    const grantEnd = X_HELPER_UIDS.base + X_HELPER_UIDS.size - FREE;
    const subuid = grantAlice(folder, GRANT.start, grantEnd - GRANT.start);
    served = await writeSelection(xSocketFolder!, 'a paste into high');

    const xclip = readdirSync('/proc').find((pid) => /^\d+$/.test(pid) && commOf(pid) === 'xclip' && startedByThisProcess(pid));
    expect(xclip, "the serving xclip, this test's").toBeDefined();
    const helperUid = uidOf(xclip!);
    expect(isInRange(helperUid, X_HELPER_UIDS)).toBe(true);
    expect(helperUid, "the helper's uid, outside her grant").toBeGreaterThanOrEqual(grantEnd);
    const target = `/proc/${xclip}/root/tmp/.X11-unix/X0`;

    const probe = join(folder, 'probe.cjs');
    writeFileSync(probe, PROBE, { mode: 0o644 });

    // The control: Alice as herself cannot go through the helper's root.
    const own = spawnSync('setpriv', [`--reuid=${ALICE}`, `--regid=${ALICE}`, '--clear-groups', '--', process.execPath, probe, target], { encoding: 'utf8', timeout: 20_000 });
    const asHerself = JSON.parse(own.stdout.trim().split('\n').at(-1) ?? '{}') as { result?: string };
    expect(asHerself.result).toMatch(/^cannot connect/);
    const killAsHerself = spawnSync('setpriv', [`--reuid=${ALICE}`, `--regid=${ALICE}`, '--clear-groups', '--', 'kill', '-KILL', xclip!], { encoding: 'utf8' });
    expect(killAsHerself.status, 'alice as herself cannot signal the helper').not.toBe(0);
    expect(served.owned).toBe(true);

    // The attack: the uid of her grant nearest the helper's (the helper's own is not hers to map).
    const mapped = await probeAsMapped(probe, target, xclip!, subuid, grantEnd - 1);
    await new Promise((r) => setTimeout(r, 300));
    console.log(`alice as herself: ${asHerself.result}, kill refused; alice mapped onto ${grantEnd - 1} (her grant's last; the helper ${helperUid}): X ${mapped.result}, SIGKILL ${mapped.kill}; the paste still served: ${served.owned}`);
    expect(mapped.result).not.toMatch(/X server accepted/);
    expect(mapped.kill, "a process outside the run signals the helper's uid").toMatch(/^refused/);
    expect(served.owned, 'the paste into the level still served').toBe(true);
  }, 120_000);
});
