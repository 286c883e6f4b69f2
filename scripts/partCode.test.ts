/**
 * What npm start's cloison part runs from (partCode.mjs): a copy root owns and nobody else may
 * change, which the cloison account reads whatever the checkout's own modes; replaced at the next
 * start when a stop was missed, but never under another npm start still running from it; a link
 * planted at its name is refused, not followed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyPartCode, givenFileForPart, readableBy } from './partCode.mjs';
import { checkOpensslPreinit } from '../supervisor/smartcard/opensslPreinit';
import { removeTestRoots, testRoot } from '../supervisor/testing/testRoots';
import { waitFor } from '../supervisor/testing/waitFor';

const REPO = process.cwd();
const asCloison = (args: string[]) => spawnSync('setpriv', ['--reuid=cloison', '--regid=cloison', '--init-groups', '--', ...args], { encoding: 'utf8' });

/** Every entry under `dir` that is not root's, or whose mode lets anyone but root change it. */
function changeableByOthers(dir: string): string[] {
  const st = lstatSync(dir);
  const here = st.uid !== 0 || (st.mode & 0o022) !== 0 ? [dir] : [];
  return st.isDirectory() ? [...here, ...readdirSync(dir).flatMap((n) => changeableByOthers(join(dir, n)))] : here;
}

afterAll(() => removeTestRoots());

describe('the copy npm start runs its cloison part from', () => {
  it('is root\'s, changeable by nobody else, readable by cloison; made again over a missed stop\'s, removed at stop', () => {
    if (!existsSync(join(REPO, 'out/supervisor/cloisonPart.js'))) throw new Error('npm run build first');
    const root = testRoot('cloison-code-');
    chmodSync(root, 0o711);
    const code = copyPartCode(REPO, join(root, 'r'));
    expect(code.folder).toBe(join(root, 'r-code'));
    expect([statSync(code.folder).uid, statSync(code.folder).mode & 0o777]).toEqual([0, 0o755]);
    expect(changeableByOthers(code.folder)).toEqual([]);
    for (const file of ['out/supervisor/cloisonPart.js', 'out/supervisor/cloisonPartMain.cjs', 'out/supervisor/cloisonPartMain.cjs.cache', 'out/supervisor/soundPart.js', 'out/renderer/index.html', 'package.json']) {
      expect(asCloison(['test', '-r', join(code.folder, file)]).status).toBe(0);
    }
    // The card proxies' OpenSSL pre-initialisation, where the build made it, passes the proxies' trust check in the copy.
    if (existsSync(join(REPO, 'out/supervisor/opensslPreinit.so'))) expect(checkOpensslPreinit(join(code.folder, 'out/supervisor/opensslPreinit.so'))).toMatchObject({ ok: true });
    // The manager runs from the copy alone, its main bundle with it: it reads a policy and says where it is wrong.
    const bad = join(root, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nlevels:\n  - id: low\n    rank: zero\n');
    const manager = spawnSync(process.execPath, [join(code.folder, 'out/supervisor/cageManager.js'), '--policy', bad, '--state-dir', join(root, 's'), '--run-dir', join(root, 'run'), '--no-part'], { encoding: 'utf8' });
    expect(manager.stderr).toContain(`${bad}:4:11: levels[0].rank: expected number`);
    // Its native module loads from the copy alone.
    expect(spawnSync(process.execPath, ['--input-type=module', '-e', "await import('koffi'); console.log('ok')"], { cwd: join(code.folder, 'out', 'supervisor'), encoding: 'utf8' }).stdout.trim()).toBe('ok');
    // Without koffi's C sources, headers and docs, which no run loads (copied at every start, on the start's path).
    const koffiFiles = readdirSync(join(code.folder, 'node_modules', 'koffi'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
    expect(koffiFiles.filter((name) => /\.(?:cc|hh|h|c|S|asm|inc|def|md)$/.test(name) && !name.startsWith('LICENSE'))).toEqual([]);
    // A stop missed: the next start replaces it, nothing half-made left beside it.
    const again = copyPartCode(REPO, join(root, 'r'));
    expect(readdirSync(root).filter((n) => n.startsWith('r-code'))).toEqual(['r-code']);
    again.remove();
    expect(existsSync(code.folder)).toBe(false);
  });

  it('is not replaced under a process still running from it, and a link at its name is refused', async () => {
    const root = testRoot('cloison-code-');
    chmodSync(root, 0o711);
    const code = copyPartCode(REPO, join(root, 'r'));
    const runner = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', join(code.folder, 'out/supervisor/cageManager.js')], { stdio: 'ignore' });
    try {
      await waitFor(() => readFileSync(`/proc/${runner.pid}/cmdline`, 'utf8').includes(code.folder), 'the process running from the copy');
      expect(() => copyPartCode(REPO, join(root, 'r'))).toThrow(new RegExp(`process ${runner.pid} runs from ${code.folder}`));
      expect(existsSync(join(code.folder, 'out/supervisor/cageManager.js'))).toBe(true);
      expect(readdirSync(root).filter((n) => n.startsWith('r-code'))).toEqual(['r-code']);
    } finally {
      runner.kill('SIGKILL');
    }
    code.remove();
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(root, 'r-code'));
    expect(() => copyPartCode(REPO, join(root, 'r'))).toThrow(/is not the cloison part's code folder/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it("is not replaced under root's process that runs a file of it, maps one or works in it; is made again once that copy is removed", async () => {
    const root = testRoot('cloison-code-');
    chmodSync(root, 0o711);
    const runDir = join(root, 'r');
    const code = copyPartCode(REPO, runDir);
    const sleep = join(code.folder, 'out/sleep');
    copyFileSync('/bin/sleep', sleep);
    const mapped = join(code.folder, 'out/supervisor/cageManager.js');
    const runners = [
      { what: 'its executable', spawn: () => spawn(sleep, ['60'], { cwd: root, stdio: 'ignore' }) },
      { what: 'a mapping', spawn: () => spawn('python3', ['-c', `import mmap, time\nf = open(${JSON.stringify(mapped)}, 'rb')\nm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\nf.close()\nprint(flush=True)\ntime.sleep(60)`], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }) },
      { what: 'its working folder', spawn: () => spawn('/bin/sleep', ['60'], { cwd: join(code.folder, 'out'), stdio: 'ignore' }) },
    ];
    const started: ChildProcess[] = [];
    try {
      for (const [i, runner] of runners.entries()) {
        const child = runner.spawn();
        started.push(child);
        if (child.stdout) await new Promise((ready) => child.stdout!.once('data', ready));
        await waitFor(() => existsSync(`/proc/${child.pid}/exe`) && !readlinkSync(`/proc/${child.pid}/exe`).endsWith('/node'), runner.what);
        expect(() => copyPartCode(REPO, runDir), runner.what).toThrow(new RegExp(`process ${child.pid} runs from ${code.folder}`));
        if (i < runners.length - 1) child.kill('SIGKILL');
      }
      // The stop removes the copy under the last one, still working in it (`… (deleted)`): not the next copy's.
      code.remove();
      const again = copyPartCode(REPO, runDir);
      again.remove();
    } finally {
      for (const child of started) child.kill('SIGKILL');
    }
  });

  it('a file the part reads, named where cloison cannot reach it: copied beside the code only when anyone may read the file itself', () => {
    const root = testRoot('cloison-code-');
    chmodSync(root, 0o711);
    const code = copyPartCode(REPO, join(root, 'r'));
    const home = join(root, 'home');
    mkdirSync(home, { mode: 0o700 });
    writeFileSync(join(home, 'scenario.yaml'), 'version: 1\n', { mode: 0o644 });
    writeFileSync(join(home, 'private.yaml'), 'secret\n', { mode: 0o600 });
    expect(readableBy('cloison', join(home, 'scenario.yaml'))).toBe(false);
    const given = givenFileForPart(code.folder, join(home, 'scenario.yaml'), 'training');
    expect(given).toBe(join(code.folder, 'given', 'training-scenario.yaml'));
    expect(asCloison(['cat', given!]).stdout).toBe('version: 1\n');
    expect(givenFileForPart(code.folder, join(home, 'private.yaml'), 'policy')).toBeNull();
    expect(readdirSync(join(code.folder, 'given'))).toEqual(['training-scenario.yaml']);
    code.remove();
  });
});
