/**
 * The waiting page npm start writes into the shell user's Chromium profile, as root, while that
 * user's processes run there (issue #27): a symbolic link planted at the page's temporary name must
 * not make root overwrite, nor hand over, the file it points to. The page still turns into the
 * redirect, owned by that user.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, chownSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createLaunchPage, GO_SCRIPT } from './launchPage.mjs';

const NOBODY = { uid: 65534, gid: 65534 };
/** A second local user (or a cage's uid: a cage runs as a uid of its own), neither root nor the shell's user. */
const OTHER_UID = 57_300 + (process.pid % 50);

describe('the launch page in the shell user\'s folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'cloison-launch-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('a link planted at its temporary name neither overwrites nor gives away the file it points to', () => {
    const precious = join(root, 'root-only.conf');
    writeFileSync(precious, 'root: keep\n', { mode: 0o600 });
    const profile = mkdtempSync(join(root, 'profile-'));
    const page = createLaunchPage(profile, NOBODY);
    chownSync(profile, NOBODY.uid, NOBODY.gid); // as npm start does: the folder is the user's now
    // What the user's own process (Chromium, or anything running as them) can do in their folder.
    for (const name of ['launch.next', GO_SCRIPT, ...readdirSync(profile).filter((n) => n !== 'launch.html')]) {
      rmSync(join(profile, name), { force: true });
      symlinkSync(precious, join(profile, name));
    }
    try {
      page.go('http://127.0.0.1:1/#launch=secret');
    } catch {
      /* refusing is as good as writing elsewhere */
    }
    expect(readFileSync(precious, 'utf8')).toBe('root: keep\n');
    expect(statSync(precious)).toMatchObject({ uid: 0, gid: 0 });
    expect(lstatSync(page.path).isFile()).toBe(true);
    expect(readFileSync(page.path, 'utf8')).toContain('url=http://127.0.0.1:1/#launch=secret');
    expect(statSync(page.path)).toMatchObject({ uid: NOBODY.uid, mode: 0o100600 });
    // The script that sends the waiting page on: a file of the user's own, the link replaced, not followed.
    expect(lstatSync(join(profile, GO_SCRIPT))).toMatchObject({ uid: NOBODY.uid, mode: 0o100600 });
    expect(readFileSync(join(profile, GO_SCRIPT), 'utf8')).toBe('location.replace("http://127.0.0.1:1/#launch=secret");\n');
  });
});

/** CPU ticks (1/100 s) of every process whose command line names `marker`. */
function ticksOf(marker: string): number {
  let sum = 0;
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += Number(fields[11]) + Number(fields[12]);
    } catch {
      /* gone */
    }
  }
  return sum;
}

describe('the launch secret in the shell user\'s folder (attack: another local user)', () => {
  it('neither the script that sends the page on nor the redirect can be read, nor the folder listed, by another uid', () => {
    const root = mkdtempSync(join(tmpdir(), 'cloison-launch-other-'));
    try {
      chmodSync(root, 0o755); // the tmp folder above the profile: anyone may pass, as /tmp
      // As start.mjs: the profile a mkdtemp folder given to the shell's user, the page written as that user's.
      const profile = mkdtempSync(join(root, 'cloison-shell-'));
      const page = createLaunchPage(profile, NOBODY);
      chownSync(profile, NOBODY.uid, NOBODY.gid);
      page.go('http://127.0.0.1:1/#launch=the-secret');
      const asOther = (...argv: string[]) => spawnSync('setpriv', [`--reuid=${OTHER_UID}`, `--regid=${OTHER_UID}`, '--clear-groups', '--inh-caps=-all', '--', ...argv], { encoding: 'utf8' });
      for (const file of [GO_SCRIPT, 'launch.html']) {
        const read = asOther('cat', join(profile, file));
        expect(read.status).not.toBe(0);
        expect(read.stdout).not.toContain('the-secret');
      }
      expect(asOther('ls', profile).status).not.toBe(0);
      // The shell's user reads both (Chromium runs as them).
      expect(spawnSync('setpriv', [`--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, '--clear-groups', '--', 'cat', join(profile, GO_SCRIPT)], { encoding: 'utf8' }).stdout).toContain('the-secret');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('the waiting page in Chromium', () => {
  // It is shown while the supervisor, its part and the cages start, on the same two cores: reloading
  // itself every 0.2 s took 0.8–1.2 s of CPU a second (bench/RESULTS.md, start-8).
  it('costs next to no CPU while it waits, and sends the browser on once go() is called', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cloison-launch-cpu-'));
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(req.url ?? '');
      res.end('<title>shell</title>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const page = createLaunchPage(root);
    const profile = join(root, 'profile');
    const chromium = spawn('/usr/bin/chromium', ['--headless', '--no-sandbox', '--no-first-run', `--user-data-dir=${profile}`, pathToFileURL(page.path).href], { stdio: 'ignore', detached: true });
    try {
      await new Promise((r) => setTimeout(r, 6000)); // its own start (5 s headless, at load 7)
      const before = ticksOf(profile);
      await new Promise((r) => setTimeout(r, 3000));
      const cpuPerSecond = (ticksOf(profile) - before) / 100 / 3;
      console.log(`the waiting page: ${cpuPerSecond.toFixed(3)} CPU-s a second`);
      expect(cpuPerSecond).toBeLessThan(0.3);
      const { port } = server.address() as AddressInfo;
      const sent = Date.now();
      page.go(`http://127.0.0.1:${port}/shell#launch=secret`);
      // One navigation (issue #26): the waiting page goes straight to the address, without loading
      // itself again (the redirect it was turned into, here one to elsewhere, is for later loads only).
      writeFileSync(page.path, `<!doctype html><meta http-equiv="refresh" content="0;url=http://127.0.0.1:${port}/reloaded">`);
      for (let waited = 0; requests.length === 0 && waited < 10_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
      console.log(`the waiting page: the shell's address asked ${Date.now() - sent} ms after go() (load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]})`);
      expect(requests).toEqual(['/shell']);
    } finally {
      process.kill(-chromium.pid!, 'SIGKILL');
      server.close();
      await new Promise((r) => setTimeout(r, 200));
      rmSync(root, { recursive: true, force: true });
    }
  }, 30_000);
});
