// npm start's split (the default) runs the root cage manager and, as the `cloison` account, its
// part — from a root-owned copy of exactly what the two load at run time, never from the checkout:
// a checkout in a private home (0700) stays closed to the cloison account, and so does every file
// the user left world-readable behind it (#29 review: an ACL entry giving cloison search on the
// home opened those too, and could widen the home's ACL mask for its group). The copy is made at
// each start in a fresh folder beside the run folder (`<run-dir>-code`, root's, 0755), put in
// place by a rename (never seen half made), and removed at stop; one a missed stop left is
// replaced. An installed Cloison runs from /usr/lib/cloison and needs none of it.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, constants, copyFileSync, cpSync, existsSync, fstatSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';

/** What the manager's and the part's bundles load beside themselves (out/supervisor/). */
const BUNDLES = ['cageManager.js', 'cageManagerMain.cjs', 'cloisonPart.js', 'cloisonPartMain.cjs', 'browserPart.js', 'soundPart.js', 'fileHelper.mjs', 'cageLauncherInCage.mjs', 'pixelHelper.mjs'];
/**
 * Built only where gcc (and libssl-dev) are: the card proxies start without them otherwise (opensslPreinit.ts, workerPrefault.ts, workerModuleInit.ts),
 * the cages load Debian's card client (cardClientModule.ts), the card guard relays in Node
 * (cardRecordRelay.ts); without the name service look-up
 * (system/native/nameServiceIds.c) no cage or card proxy starts, each refused saying why.
 * The part's and the manager's code caches: without one (a build that could not write it) the source is compiled.
 */
const OPTIONAL = ['nameServiceIds', 'cardRecordRelay', 'opensslPreinit.so', 'workerPrefault.so', 'workerModuleInit.so', 'cardGssStub.so', 'cloisonPartMain.cjs.cache', 'cageManagerMain.cjs.cache'];

/**
 * What of a runtime package a run loads: its JavaScript, JSON and native modules, and its licence.
 * koffi's C sources, headers and docs are 74 of its 87 files (1.8 of 1.9 MB): copied at every start
 * for nothing, on the split's critical path (bench/RESULTS.md). Its entry is under src/: by kind, not by folder.
 */
const RUNTIME_FILE = /\.(?:js|cjs|mjs|json|node)$|\/LICEN[CS]E[^/]*$/;

/** The folder the copy runs from, for a manager run folder (the manager's --run-dir, /run/cloison by default). */
export function partCodeFolder(runDir) {
  return join(dirname(runDir), `${basename(runDir)}-code`);
}

/**
 * The packages the bundles load at run time: only koffi (external: it loads its native module
 * from its package folder), with its platform package (@koromix/koffi-<platform>) beside it.
 */
function runtimePackages(checkout) {
  const entry = createRequire(join(checkout, 'out', 'supervisor', 'cageManager.js')).resolve('koffi');
  let koffi = dirname(entry);
  while (basename(koffi) !== 'koffi' && dirname(koffi) !== koffi) koffi = dirname(koffi);
  const modules = dirname(koffi);
  const scope = join(modules, '@koromix');
  const native = existsSync(scope) ? readdirSync(scope).filter((n) => n.startsWith('koffi-')).map((n) => ({ from: join(scope, n), to: join('node_modules', '@koromix', n) })) : [];
  return [{ from: koffi, to: join('node_modules', 'koffi') }, ...native];
}

/** Every folder 0755 and every file 0644 (0755 where its owner may run it): the checkout's own modes may be private. */
function openToAll(path) {
  const st = lstatSync(path);
  if (st.isDirectory()) {
    chmodSync(path, 0o755);
    for (const name of readdirSync(path)) openToAll(join(path, name));
  } else if (st.isFile()) chmodSync(path, st.mode & 0o100 ? 0o755 : 0o644);
}

/** Refuses a folder root cannot trust to hold the copy: not root's, or writable by others without the sticky bit. */
function checkParent(parent) {
  const st = statSync(parent);
  if (st.uid !== 0 || ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0)) throw new Error(`${parent} is not a folder root alone may change: the cloison part's code is not copied there`);
}

/** The uid of an account, or null when there is none. */
function uidOf(account) {
  const id = spawnSync('id', ['-u', account], { encoding: 'utf8' });
  return id.status === 0 && /^\d+$/.test(id.stdout.trim()) ? Number(id.stdout.trim()) : null;
}

/** Whether a path is `folder` or inside it. */
const within = (folder, path) => path === folder || path.startsWith(`${folder}/`);

/** The kernel's name for a file a process holds, when that file is no longer there. */
const DELETED = / \(deleted\)$/;

/** The identity of a file (st_dev, st_ino), or null when there is none at that path. */
function identity(path) {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * Whether the kernel's name for a file a process holds (its executable or working folder,
 * through the /proc link `link`) names a file of the copy now at `folder`: the name is in the
 * folder, not one of a removed file, and leads to the very file the process holds (same st_dev
 * and st_ino) — a copy removed and another made at its name since is not the one it holds.
 */
function holdsFrom(folder, link) {
  const name = readlinkSync(link);
  if (DELETED.test(name) || !within(folder, name)) return false;
  const held = identity(link);
  return held !== null && held === identity(name);
}

/** A mapping's device (major:minor, hex, as /proc/PID/maps writes it) as Node's st_dev gives it (the kernel's new_encode_dev). */
function mapsDevice(field) {
  const [major, minor] = field.split(':').map((n) => BigInt(`0x${n}`));
  return (minor & 0xffn) | (major << 8n) | ((minor & ~0xffn) << 12n);
}

/**
 * Whether one of a process's mappings is a file of the copy now at `folder`, that very file: the
 * device and inode /proc/PID/maps gives, or (a stacked file system may give its lower file's
 * there) the file /proc/PID/map_files/ leads to.
 */
function mapsFrom(folder, pid) {
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  // Most processes map nothing of the copy: their lines are not split. Split every one, the whole
  // machine's maps (Chromium's run to thousands of lines) left start.mjs's heap ~2 MiB larger for
  // the session: garbage that no collection took back while it waited (bench/RESULTS.md, #26).
  if (!maps.includes(folder)) return false;
  return maps.split('\n').some((line) => {
    const fields = line.split(/\s+/);
    const slash = line.indexOf('/');
    if (fields.length < 6 || slash < 0) return false;
    const name = line.slice(slash);
    if (DELETED.test(name) || !within(folder, name)) return false;
    const file = identity(name);
    return file !== null && (file === `${mapsDevice(fields[3])}:${BigInt(fields[4])}` || file === identity(`/proc/${pid}/map_files/${fields[0]}`));
  });
}

/**
 * A process that runs from `folder`, or null. Only root's and the cloison account's are judged,
 * by their real uid (/proc/PID/status): a set-uid program another account starts (su left at
 * its prompt, mount…) runs with effective uid 0 but keeps its caller's real uid, in the working
 * folder and with the arguments its caller chose, and would keep root's npm start from starting
 * (#29 review, attack-3). What a process runs is its executable, its mappings and its working
 * folder — each judged by the file it holds, not by its name: a removed copy's stays named
 * `… (deleted)`; its arguments count only for a node process (node runs the script its arguments
 * name, and maps nothing of it), and only while that script is there.
 */
function processRunningFrom(folder) {
  const accounts = new Set([0, uidOf('cloison')].filter((uid) => uid !== null));
  const node = realpathSync(process.execPath);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const realUid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (!realUid || !accounts.has(Number(realUid[1]))) continue;
      if (holdsFrom(folder, `/proc/${pid}/exe`) || holdsFrom(folder, `/proc/${pid}/cwd`)) return Number(pid);
      if (mapsFrom(folder, pid)) return Number(pid);
      const exe = readlinkSync(`/proc/${pid}/exe`).replace(DELETED, '');
      const isNode = exe === node || /^node(js)?[\d.]*$/.test(basename(exe));
      if (isNode && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => within(folder, arg) && existsSync(arg))) return Number(pid);
    } catch {
      /* gone meanwhile, or a kernel thread */
    }
  }
  return null;
}

/** What is at `path` itself (a link not followed), or null when nothing is. */
function lstatOrNull(path) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** Removes a copy (or a half-made one) of ours: a folder root owns, never a link's target. */
function removeCopy(path) {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isDirectory() || st.uid !== 0) throw new Error(`${path} is not the cloison part's code folder (not a folder of root's): remove it, then start again`);
  rmSync(path, { recursive: true, force: true });
}

/**
 * A half-made copy of a start that died, removed; an entry of that name that is not a folder of
 * root's is not ours (another account's, in a /tmp run folder's parent): left alone, never followed.
 */
function removeHalfMade(path) {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (st.isDirectory() && st.uid === 0) rmSync(path, { recursive: true, force: true });
}

/**
 * Copies what the part runs into `<run-dir>-code` and returns that folder, with its removal.
 * The caller runs the manager's bundle from there: the part's bundle, the renderer it serves and
 * the parts it starts are found beside it.
 */
export function copyPartCode(checkout, runDir) {
  const target = partCodeFolder(runDir);
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true, mode: 0o755 });
  checkParent(parent);
  // Made private, filled, opened, then renamed into place: the part never runs a half-made copy.
  const staging = mkdtempSync(join(parent, `${basename(target)}.new-`));
  try {
    mkdirSync(join(staging, 'out', 'supervisor'), { recursive: true });
    for (const file of BUNDLES) copyFileSync(join(checkout, 'out', 'supervisor', file), join(staging, 'out', 'supervisor', file));
    for (const file of OPTIONAL.filter((f) => existsSync(join(checkout, 'out', 'supervisor', f)))) copyFileSync(join(checkout, 'out', 'supervisor', file), join(staging, 'out', 'supervisor', file));
    cpSync(join(checkout, 'out', 'renderer'), join(staging, 'out', 'renderer'), { recursive: true, dereference: true });
    for (const pkg of runtimePackages(checkout)) cpSync(realpathSync(pkg.from), join(staging, pkg.to), { recursive: true, dereference: true, filter: (from) => statSync(from).isDirectory() || RUNTIME_FILE.test(from) });
    // The bundles are ES modules: the checkout's package.json said so.
    writeFileSync(join(staging, 'package.json'), '{ "type": "module" }\n');
    openToAll(staging);
    // A copy a missed stop left is replaced, as are half-made ones of a start that died.
    for (const name of readdirSync(parent).filter((n) => n.startsWith(`${basename(target)}.new-`) && join(parent, n) !== staging)) removeHalfMade(join(parent, name));
    // Another npm start on the same run folder still runs from it: its part started again would find nothing.
    // Nothing at that name (the last stop removed it): nothing runs from it, and the machine's
    // processes are not looked through (~50 ms CPU, 200 ms at load 30, before the manager's start).
    const user = lstatOrNull(target) ? processRunningFrom(target) : null;
    if (user) throw new Error(`process ${user} runs from ${target} (another npm start on the same run folder?)`);
    removeCopy(target);
    renameSync(staging, target);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return { folder: target, remove: () => removeCopy(target) };
}

/** Whether the account can read `file` where it is (every folder on the way, the file's own mode and ACL). */
export function readableBy(account, file) {
  return spawnSync('setpriv', [`--reuid=${account}`, `--regid=${account}`, '--init-groups', '--inh-caps=-all', '--', 'test', '-r', file], { stdio: 'ignore' }).status === 0;
}

/** The cloison account's group (its primary one), which the part reads a given file through. */
function cloisonGid() {
  const id = spawnSync('id', ['-g', 'cloison'], { encoding: 'utf8' });
  const gid = Number(id.stdout.trim());
  if (id.status !== 0 || !Number.isInteger(gid) || id.stdout.trim() === '') throw new Error('no cloison account: the file cannot be given to the cloison part (scripts/setup.sh makes the account)');
  return gid;
}

/**
 * A file the part reads itself (the policy, a training scenario) named where the cloison account
 * cannot reach it — a checkout's training/ examples in a private home: a copy in the code folder
 * when the file is a regular one anyone may read (its folders alone hold it back), or null (the
 * part then says why it cannot read it). The copy is what the part and the manager read, a reload
 * included, until the next start.
 */
export function givenFileForPart(codeFolder, file, kind) {
  // Checked and read through one descriptor: a link swapped meanwhile cannot make root copy another file.
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || (st.mode & 0o004) === 0) return null;
    // Root's and the cloison group's only: the file was behind a private folder, and the part alone needed it.
    const group = cloisonGid();
    const given = join(codeFolder, 'given');
    mkdirSync(given, { recursive: true, mode: 0o700 });
    chownSync(given, 0, group);
    chmodSync(given, 0o750);
    const copy = join(given, `${kind}-${basename(file)}`);
    writeFileSync(copy, readFileSync(fd), { mode: 0o600, flag: 'wx' });
    chownSync(copy, 0, group);
    chmodSync(copy, 0o640);
    return copy;
  } finally {
    closeSync(fd);
  }
}
