/**
 * The `cloison` part, compromised, leaves code for its next start in its code cache
 * (out/supervisor/cloisonPartMain.cjs.cache, supervisor/codeCache/loadWithCodeCache.ts). V8 runs a cache's bytecode
 * without comparing it to the source — it checks the source's length, Node's version and flags —
 * and the header's digest of the bundle is public: a cache the part can write is code of its
 * choosing, run at each of its restarts. As the part's account, the attack writes a cache compiled
 * from another program of the bundle's length (it leaves a mark, then ends), into the code npm start
 * runs (copyPartCode), and the part is started the one way it is (cloisonPart.ts): a cache of that
 * account's, or one anybody may write, is refused with one line and the bundle's source runs. The
 * build's own cache is used; one V8 refuses, or of another build, is a plain load, never a failed start.
 * The cage manager loads its own code the same way, as root: a cache of the account's there ran its
 * program as root ("ran as uid 0") before the owner check.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloisonPart } from '../supervisor/cageManager/cloisonPart';
import { encodeCodeCache } from '../supervisor/codeCache/codeCacheFile';
import { commonJsWrapped } from '../supervisor/codeCache/loadWithCodeCache';
import { PART_NODE_FLAGS } from '../supervisor/sandbox/unprivilegedPart';
import { createPamTestUser } from '../supervisor/testing/pamTestUser';
import { removeTestRoots, testRoot } from '../supervisor/testing/testRoots';
import { copyPartCode } from './partCode.mjs';

const REPO = resolve(__dirname, '..');
const account = createPamTestUser();
let root: string;
let supervisorDir: string;
let partBundle: string;
let partCache: string;
let built: Buffer;

beforeAll(() => {
  if (!existsSync(join(REPO, 'out/supervisor/cloisonPartMain.cjs.cache'))) throw new Error('npm run build first');
  root = testRoot('cloison-cc-');
  chmodSync(root, 0o711);
  supervisorDir = join(copyPartCode(REPO, join(root, 'r')).folder, 'out/supervisor');
  partBundle = join(supervisorDir, 'cloisonPartMain.cjs');
  partCache = `${partBundle}.cache`;
  built = readFileSync(partCache);
  mkdirSync(join(root, 'marks'));
  chownSync(join(root, 'marks'), account.uid, account.gid);
});
afterAll(() => {
  account.remove();
  removeTestRoots();
});

/**
 * As the part's account: a cache of a program as long as the bundle that writes `mark` and ends,
 * over the cache file (which must be writable to it), with the header's digest of the real bundle.
 */
function poisonAsTheAccount(mark: string, bundle = partBundle, cache = partCache): void {
  const [head, tail] = commonJsWrapped('\0').split('\0');
  const attack = `
    const { readFileSync, writeFileSync } = require('node:fs');
    const { Script } = require('node:vm');
    const { createHash } = require('node:crypto');
    const [bundle, cache, mark, head, tail] = process.argv.slice(1);
    const real = readFileSync(bundle, 'utf8');
    let evil = "require('node:fs').writeFileSync(" + JSON.stringify(mark) + ", 'ran as uid ' + process.getuid());";
    evil += ' '.repeat(real.length - evil.length);
    const data = new Script(head + evil + tail).createCachedData();
    const digest = createHash('sha256').update(real).digest('hex');
    writeFileSync(cache, Buffer.concat([Buffer.from('cloison-code-cache 1 ' + digest + '\\n'), data]));`;
  const run = spawnSync('setpriv', [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--clear-groups', '--', process.execPath, ...PART_NODE_FLAGS, '-e', attack, bundle, cache, mark, head!, tail!], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
}

/** The part started from the copy, as the manager starts it (its start holds only its account: it then fails, having run). */
async function startPart(): Promise<string> {
  const lines: string[] = [];
  const part = cloisonPart({
    command: { callerUrl: import.meta.url, source: '', bundle: '', script: join(supervisorDir, 'cloisonPart.js') },
    account: () => account,
    stderr: (line) => void lines.push(line),
  });
  // Its refusal of that start reaches the manager on its channel (the start's error) before its stderr does.
  const refused = await part.start().then(
    () => 'ready',
    (err: Error) => err.message,
  );
  await part.stop();
  return [...lines, refused].join('\n');
}

/** The build's cache back in place, root's, 0644. */
function restoreBuiltCache(): void {
  writeFileSync(partCache, built);
  chownSync(partCache, 0, 0);
  chmodSync(partCache, 0o644);
}

describe("the cloison part's code cache", () => {
  it("the build's own (root's, 0644) is used, and the part's code runs", async () => {
    restoreBuiltCache();
    const said = await startPart();
    expect(said).not.toMatch(/code cache/);
    // Its code ran: the start the test gave it is refused by runCloisonPart's own check.
    expect(said).toMatch(/its start is not one/);
  }, 60_000);

  it("one given to the part's account and rewritten by it is refused: its program never runs", async () => {
    restoreBuiltCache();
    chownSync(partCache, account.uid, account.gid);
    const mark = join(root, 'marks', 'owned');
    poisonAsTheAccount(mark);
    const said = await startPart();
    console.log(`the part's start with the account's cache: ${said.split('\n').find((l) => /code cache/.test(l))}`);
    expect(existsSync(mark) ? readFileSync(mark, 'utf8') : 'no mark').toBe('no mark');
    expect(said).toMatch(new RegExp(`its code cache is not used \\(owned by uid ${account.uid}, neither root nor the account that reads it`));
    expect(said).toMatch(/its start is not one/);
  }, 60_000);

  it('one of root\'s that anybody may write, rewritten by the account, is refused', async () => {
    restoreBuiltCache();
    chmodSync(partCache, 0o666);
    const mark = join(root, 'marks', 'writable');
    poisonAsTheAccount(mark);
    const said = await startPart();
    expect(existsSync(mark) ? readFileSync(mark, 'utf8') : 'no mark').toBe('no mark');
    expect(said).toMatch(/its code cache is not used \(writable by others than its owner \(mode 666\)\)/);
    expect(said).toMatch(/its start is not one/);
  }, 60_000);

  it('one made for another build, or refused by V8 (other flags), is a plain load, said in one line', async () => {
    restoreBuiltCache();
    const source = readFileSync(partBundle, 'utf8');
    writeFileSync(partCache, encodeCodeCache(`${source} `, built.subarray(built.indexOf(0x0a) + 1)));
    let said = await startPart();
    expect(said).toMatch(/its code cache is not used \(made for another build of the bundle\): compiled from its source/);
    expect(said).toMatch(/its start is not one/);

    // V8's bytes for this very source, made without the parts' flags: V8 refuses them.
    const [head, tail] = commonJsWrapped('\0').split('\0');
    const made = `const [bundle, head, tail] = process.argv.slice(1); const source = require('node:fs').readFileSync(bundle, 'utf8');
      process.stdout.write(new (require('node:vm').Script)(head + source + tail).createCachedData().toString('base64'));`;
    const other = spawnSync(process.execPath, ['-e', made, partBundle, head!, tail!], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    writeFileSync(partCache, encodeCodeCache(source, Buffer.from(other.stdout, 'base64')));
    said = await startPart();
    expect(said).toMatch(/its code cache was refused by V8 \(another Node or other flags than at its build\): compiled from its source/);
    expect(said).toMatch(/its start is not one/);
  }, 60_000);
});

describe("the cage manager's code cache", () => {
  /** The manager from the copy, with the flags npm start and the unit give it, on a policy it refuses (it stops there, having run). */
  function runManager(): string {
    const bad = join(root, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nlevels:\n  - id: low\n    rank: zero\n');
    const run = spawnSync(process.execPath, [...PART_NODE_FLAGS, join(supervisorDir, 'cageManager.js'), '--policy', bad, '--state-dir', join(root, 'ms'), '--run-dir', join(root, 'mr'), '--no-part'], { encoding: 'utf8', timeout: 30_000 });
    return run.stderr;
  }

  it("the build's own is used; one the part's account could rewrite is refused: its program never runs as root", () => {
    const honest = runManager();
    expect(honest).not.toMatch(/code cache/);
    expect(honest).toMatch(/bad\.yaml:4:11: levels\[0\]\.rank: expected number/);

    const bundle = join(supervisorDir, 'cageManagerMain.cjs');
    chownSync(`${bundle}.cache`, account.uid, account.gid);
    const mark = join(root, 'marks', 'manager');
    poisonAsTheAccount(mark, bundle, `${bundle}.cache`);
    const said = runManager();
    expect(existsSync(mark) ? readFileSync(mark, 'utf8') : 'no mark').toBe('no mark');
    expect(said).toMatch(/bad\.yaml:4:11: levels\[0\]\.rank: expected number/);
    expect(said).toMatch(new RegExp(`cageManagerMain.cjs: its code cache is not used \\(owned by uid ${account.uid}, neither root nor the account that reads it\\)`));
  }, 60_000);
});
