/**
 * The cages' card client module, ours: Debian's Caml Crush client (libp11clientunix.so) and a copy
 * of the libtirpc it links, without MIT Kerberos. Debian's libtirpc needs libgssapi_krb5.so.2 (for
 * RPCSEC_GSS, which the client never uses: AUTH_NONE over the level's Unix socket), and loading
 * Kerberos's libraries cost every application that signs ~3–4 ms of CPU and ~50 page faults before
 * its first byte reached the proxy (bench/RESULTS.md, issue #31).
 *
 * Made from the installed files, never built from source: copies renamed with patchelf —
 *   - libcloison-tirpc.so.3: Debian's libtirpc, its SONAME renamed (an application of the cage that
 *     loads libtirpc.so.3 later still gets Debian's) and its DT_NEEDED on Kerberos's GSS-API replaced
 *     by our failing stub (native/gssStub.c), under a name of its own: named libgssapi_krb5.so.2,
 *     the loader would hand the stub to a cage's Firefox loading Kerberos after the card module;
 *   - libcloison-p11clientunix.so: the client, naming that copy; both with RUNPATH $ORIGIN, so the
 *     folder finds itself wherever it is bound;
 *   - libcloison-gss.so.2: the stub the build compiled.
 * The folder is made by the process that prepares the cages' card endpoints (the manager, root) in
 * its state folder (root's: /var/lib, where libraries may be mapped executable — Debian mounts /run
 * noexec), named after what it was made from (each source's device, inode, size and modification
 * time): an upgraded libtirpc or client is a new name, so the copy is remade at the next cage
 * start; the folders of older sources are then removed. Each cage binds it read-only; no cage uid
 * can write it or its parent. When it cannot be made (no patchelf, no stub, a source of another
 * shape), the cages load Debian's client, as before, and the log says why.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Caml Crush's client for a Unix socket (Debian's caml-crush-clients): the fallback, and the copy's source. */
export const DEBIAN_CARD_CLIENT = '/usr/lib/x86_64-linux-gnu/caml-crush/libp11clientunix.so';
/** The libtirpc that client links (libtirpc3). */
export const DEBIAN_TIRPC = '/usr/lib/x86_64-linux-gnu/libtirpc.so.3';
/** Where the build writes the GSS-API stub (scripts/buildOpensslPreinit.mjs). */
export const GSS_STUB_BUILT_NAME = 'cardGssStub.so';

export const CLIENT_NAME = 'libcloison-p11clientunix.so';
export const TIRPC_NAME = 'libcloison-tirpc.so.3';
/** The stub's SONAME (gssStub.c's build): never libgssapi_krb5.so.2. */
export const GSS_STUB_NAME = 'libcloison-gss.so.2';
const RECORD = 'made-from.json';
/** Level ids are [a-z][a-z0-9-]*: a folder with an underscore is never a level's. */
const FOLDER_PREFIX = 'client_';

/** The build's stub: out/supervisor, beside the bundles (from the bundle or from the sources). */
export function builtGssStub(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'out', 'supervisor', GSS_STUB_BUILT_NAME);
}

export interface CardClientSources {
  client: string;
  tirpc: string;
  stub: string;
}

export const debianCardClientSources = (): CardClientSources => ({ client: DEBIAN_CARD_CLIENT, tirpc: DEBIAN_TIRPC, stub: builtGssStub() });

export type CardClient = { ok: true; dir: string; module: string } | { ok: false; reason: string };

/**
 * The client folder inside `parent` for the installed sources: reused when made from these very
 * files, else made. `parent` must be a folder no cage uid may write (the manager's card folder).
 * Synchronous: ten patchelf runs (1.6–2.6 s under load) when it must be made; the cage manager
 * makes it in the background at its start instead (makeCardClientInBackground).
 */
export function makeCardClient(parent: string, sources: CardClientSources = debianCardClientSources()): CardClient {
  const steps = makingSteps(parent, sources);
  let step = steps.next();
  while (!step.done) {
    let output: string;
    try {
      output = patchelfNow(step.value);
    } catch (err) {
      step = steps.throw(err);
      continue;
    }
    step = steps.next(output);
  }
  return step.value;
}

/**
 * makeCardClient without holding the event loop: the same steps, each patchelf run awaited. The
 * cage manager starts it at its own start so that a cage start finds the folder made (it awaits
 * it only while it is being made).
 */
export async function makeCardClientInBackground(parent: string, sources: CardClientSources = debianCardClientSources()): Promise<CardClient> {
  const steps = makingSteps(parent, sources);
  let step = steps.next();
  while (!step.done) {
    let output: string;
    try {
      output = await patchelfLater(step.value);
    } catch (err) {
      step = steps.throw(err);
      continue;
    }
    step = steps.next(output);
  }
  return step.value;
}

/**
 * The making, once for both: yields each patchelf run's arguments and is given its output (or
 * thrown its failure), returns the client. Everything else it does is a few file operations.
 */
function* makingSteps(parent: string, sources: CardClientSources): Generator<string[], CardClient, string> {
  try {
    mkdirSync(parent, { recursive: true, mode: 0o755 });
    // The cages' bind keeps the mount's flags: on a noexec mount the loader could not map the copies.
    if (noexecMount(realpathSync(parent))) throw new Error(`${parent} is on a noexec mount`);
    const record = recordOf(sources);
    const key = createHash('sha256').update(JSON.stringify(record)).digest('hex').slice(0, 16);
    const dir = join(parent, `${FOLDER_PREFIX}${key}`);
    if (existsSync(dir)) {
      if (intact(dir, record)) return { ok: true, dir, module: join(dir, CLIENT_NAME) };
      // Not as this process leaves it (a half-made one from a crash): set aside, never used.
      renameSync(dir, mkdtempSync(join(parent, '.stale-')));
    }
    const made = mkdtempSync(join(parent, '.making-'));
    try {
      yield* build(made, record);
      renameSync(made, dir);
    } catch (err) {
      rmSync(made, { recursive: true, force: true });
      throw err;
    }
    // Older sources' copies, and what a crash left. A cage started before keeps the libraries it
    // mapped; one of its applications loading the card module only after this finds it gone (the
    // module is not critical to p11-kit) until that cage starts again.
    for (const name of readdirSync(parent)) {
      if (name !== `${FOLDER_PREFIX}${key}` && /^(client_|\.stale-|\.making-)/.test(name)) rmSync(join(parent, name), { recursive: true, force: true });
    }
    return { ok: true, dir, module: join(dir, CLIENT_NAME) };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

/** Whether the mount holding `path` (a real path) is noexec: the longest mount point above it, as /proc/self/mountinfo lists them. */
export function noexecMount(path: string): boolean {
  let best = { point: '', noexec: false };
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    // Field 5 is the mount point (spaces escaped as \040), field 6 its per-mount options.
    const point = (fields[4] ?? '').replace(/\\040/g, ' ');
    if (!point || !(path === point || path.startsWith(point === '/' ? '/' : `${point}/`))) continue;
    if (point.length >= best.point.length) best = { point, noexec: (fields[5] ?? '').split(',').includes('noexec') };
  }
  return best.noexec;
}

type SourceRecord = Record<keyof CardClientSources, { path: string; dev: string; ino: string; size: string; mtimeNs: string }>;

/** What each source is now: its real path (the libraries are links to versioned names) and identity. */
function recordOf(sources: CardClientSources): SourceRecord {
  const one = (file: string) => {
    const path = realpathSync(file);
    const st = statSync(path, { bigint: true });
    if (!st.isFile()) throw new Error(`${path} is not a file`);
    return { path, dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs) };
  };
  return { client: one(sources.client), tirpc: one(sources.tirpc), stub: one(sources.stub) };
}

/** Our folder as build() left it: this process's uid's, writable by it alone, its three libraries and record. */
function intact(dir: string, record: SourceRecord): boolean {
  const uid = process.getuid?.() ?? 0;
  const mine = (path: string, folder: boolean) => {
    const st = lstatSync(path);
    return (folder ? st.isDirectory() : st.isFile()) && st.uid === uid && (st.mode & 0o022) === 0;
  };
  try {
    if (!mine(dir, true) || ![CLIENT_NAME, TIRPC_NAME, GSS_STUB_NAME, RECORD].every((name) => mine(join(dir, name), false))) return false;
    return readFileSync(join(dir, RECORD), 'utf8') === JSON.stringify(record);
  } catch {
    return false;
  }
}

const PATCHELF_TIMEOUT_MS = 30_000;

function patchelfNow(args: string[]): string {
  const run = spawnSync('patchelf', args, { encoding: 'utf8', timeout: PATCHELF_TIMEOUT_MS });
  if (run.error) throw new Error(`patchelf: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`patchelf ${args.join(' ')}: ${run.stderr.trim() || `exit ${run.status}`}`);
  return run.stdout;
}

function patchelfLater(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('patchelf', args, { encoding: 'utf8', timeout: PATCHELF_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (!err) resolve(stdout);
      else if (typeof err.code === 'number') reject(new Error(`patchelf ${args.join(' ')}: ${stderr.trim() || `exit ${err.code}`}`));
      else reject(new Error(`patchelf: ${err.message}`));
    });
  });
}

/** One patchelf run of the making (makingSteps' caller runs it); its output. */
function* patchelf(...args: string[]): Generator<string[], string, string> {
  return yield args;
}

function* needed(file: string): Generator<string[], string[], string> {
  return (yield* patchelf('--print-needed', file)).split('\n').filter(Boolean);
}

/**
 * The copies, patched one change per patchelf run (0.14 given several changes at once wrote a
 * wrong SONAME and RUNPATH here), then checked: the sources must have had the links this expects.
 */
function* build(dir: string, record: SourceRecord): Generator<string[], void, string> {
  const tirpc = join(dir, TIRPC_NAME);
  const client = join(dir, CLIENT_NAME);
  const stub = join(dir, GSS_STUB_NAME);
  copyFileSync(record.tirpc.path, tirpc);
  copyFileSync(record.client.path, client);
  copyFileSync(record.stub.path, stub);
  if (!(yield* needed(tirpc)).includes('libgssapi_krb5.so.2')) throw new Error(`${record.tirpc.path} does not link libgssapi_krb5.so.2: not the libtirpc this copy is made for`);
  if (!(yield* needed(client)).includes('libtirpc.so.3')) throw new Error(`${record.client.path} does not link libtirpc.so.3`);
  if ((yield* patchelf('--print-soname', stub)).trim() !== GSS_STUB_NAME) throw new Error(`${record.stub.path} is not named ${GSS_STUB_NAME}`);
  yield* patchelf('--set-soname', TIRPC_NAME, tirpc);
  yield* patchelf('--replace-needed', 'libgssapi_krb5.so.2', GSS_STUB_NAME, tirpc);
  yield* patchelf('--set-rpath', '$ORIGIN', tirpc);
  yield* patchelf('--replace-needed', 'libtirpc.so.3', TIRPC_NAME, client);
  yield* patchelf('--set-rpath', '$ORIGIN', client);
  const left = [...(yield* needed(tirpc)), ...(yield* needed(client))].filter((n) => /krb5|gssapi|^libtirpc\.so/.test(n));
  if (left.length) throw new Error(`the copies still link ${left.join(', ')}`);
  writeFileSync(join(dir, RECORD), JSON.stringify(record));
  for (const file of [tirpc, client, stub, join(dir, RECORD)]) chmodSync(file, 0o444);
  chmodSync(dir, 0o755);
}
