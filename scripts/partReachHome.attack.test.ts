/**
 * Attack (#29 review, holes 4 and 5) on what `npm start` did to let its `cloison` part run a
 * checkout kept in a private home (0700): an ACL entry giving `cloison` search on the home.
 * - hole 4: the home's owner had closed it to its owning group (`group::rwx` held back by
 *   `mask::---`): setfacl recomputed the mask from `group::` when it added cloison's entry, so a
 *   second account of that group listed and wrote the home while (and after) npm start ran (seen);
 * - hole 5: search on the home made whatever the user left world-readable under it (a 0755
 *   Documents, its 0644 file) readable by `cloison`, i.e. by a compromised part (seen);
 * - and the entry outlived npm start (seen).
 * The real npm start, run from a checkout copied into such a home; the accounts are throwaway ones.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPamTestUser, createTestGroup } from '../supervisor/testing/pamTestUser';
import { removeTestRoots, testRoot } from '../supervisor/testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { waitFor } from '../supervisor/testing/waitFor';

const REPO = process.cwd();
const asCloison = (args: string[]) => spawnSync('setpriv', ['--reuid=cloison', '--regid=cloison', '--init-groups', '--', ...args], { encoding: 'utf8' });
const asUser = (name: string, args: string[]) => spawnSync('setpriv', [`--reuid=${name}`, `--regid=${name}`, '--init-groups', '--', ...args], { encoding: 'utf8' });

/** A checkout of this one (its built bundles, scripts, package.json; node_modules linked) at `dest`. */
function checkoutAt(dest: string): void {
  mkdirSync(dest, { recursive: true, mode: 0o755 });
  for (const part of ['package.json', 'scripts', 'out']) cpSync(join(REPO, part), join(dest, part), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(dest, 'node_modules'));
}

/** The processes running `script` (in their arguments), with their uid. */
function processesRunning(script: string): Array<{ pid: number; uid: number }> {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((p) => {
    try {
      if (!readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(script)) return [];
      return [{ pid: Number(p), uid: Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))![1]) }];
    } catch {
      return [];
    }
  });
}

const processesUnder = (root: string) => spawnSync('ps', ['-eo', 'pid,args', '--no-headers'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(root) && !l.includes('ps -eo'));

afterAll(() => removeTestRoots());

describe('npm start from a checkout in a private home', () => {
  it('opens nothing of the home: its group stays shut out, cloison reads none of its world-readable files, during npm start or after it', async () => {
    if (!existsSync(join(REPO, 'out/supervisor/cageManager.js')) || !existsSync(join(REPO, 'out/renderer/index.html'))) throw new Error('npm run build first');
    const member = createPamTestUser();
    const group = createTestGroup([member.user]);
    const root = testRoot('cloison-home-');
    try {
      chmodSync(root, 0o711);
      const home = join(root, 'home');
      mkdirSync(join(home, 'Documents'), { recursive: true, mode: 0o755 });
      chmodSync(join(home, 'Documents'), 0o755);
      writeFileSync(join(home, 'Documents', 'notes.txt'), 'left world-readable\n', { mode: 0o644 });
      // The owner's group had rwx, then the owner closed the home to it: only the mask holds it back.
      chownSync(home, 0, group.gid);
      expect(spawnSync('setfacl', ['--modify', 'group::rwx,mask::---,other::---', home]).status).toBe(0);
      const checkout = join(home, 'cloison');
      checkoutAt(checkout);
      expect(asUser(member.user, ['ls', home]).status).not.toBe(0);
      expect(asCloison(['cat', join(home, 'Documents', 'notes.txt')]).status).not.toBe(0);

      // The policy in the checkout, as the README's training example (training/policy-formation.yaml).
      const policy = join(checkout, 'p.yaml');
      writeFileSync(policy, twoLevelPolicy({ low: bwrapCage({ uid: 58517 }), high: bwrapCage({ uid: 58518 }) }), { mode: 0o644 });
      const child = spawn(process.execPath, [join(checkout, 'scripts/start.mjs'), '--no-window', '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d.toString()));
      child.stderr.on('data', (d) => (out += d.toString()));
      try {
        await waitFor(() => /the shell is at/.test(out) && /cage high:/.test(out) || child.exitCode !== null, 'the part\'s address', 60_000, 100);
        expect(out).toMatch(/the shell is at/);
        expect(out).toMatch(/cage high: running/);
        // The manager and its part run from root's copy beside the run folder, the part as cloison; the policy it reads is a copy too.
        const code = join(root, 'r-code');
        expect([statSync(code).uid, statSync(code).mode & 0o777]).toEqual([0, 0o755]);
        const part = processesRunning(join(code, 'out/supervisor/cloisonPart.js'));
        expect(part).toHaveLength(1);
        expect(part[0]!.uid).toBe(Number(spawnSync('id', ['-u', 'cloison'], { encoding: 'utf8' }).stdout.trim()));
        // The policy in the private home needs no copy: root's manager reads it, the part runs its text.
        expect(out).not.toContain(`the cloison part cannot reach ${policy}`);
        // The shell it serves, from the copy's renderer.
        const address = /the shell is at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)![1]!;
        expect((await fetch(address)).status).toBe(200);
        // While it runs: the home's group is still shut out, cloison reads nothing of the home.
        expect.soft(asUser(member.user, ['ls', home]).status).not.toBe(0);
        expect.soft(asUser(member.user, ['touch', join(home, 'planted')]).status).not.toBe(0);
        expect.soft(asCloison(['cat', join(home, 'Documents', 'notes.txt')]).stdout).toBe('');
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      }
      expect(await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))))).toBe(130);
      await waitFor(() => processesUnder(root).length === 0, 'everything npm start started gone', 15_000, 100);
      // After it: no entry of cloison's left on the home, nothing reachable, nothing of its own left in the run folders' parent.
      expect.soft(spawnSync('getfacl', ['--absolute-names', '--omit-header', home], { encoding: 'utf8' }).stdout).not.toContain('user:cloison:');
      expect.soft(asCloison(['cat', join(home, 'Documents', 'notes.txt')]).status).not.toBe(0);
      expect.soft(asUser(member.user, ['ls', home]).status).not.toBe(0);
      expect.soft(readdirSync(root).filter((n) => n.startsWith('r-code'))).toEqual([]);
    } finally {
      group.remove();
      member.remove();
    }
  }, 150_000);
});
