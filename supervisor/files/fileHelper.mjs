// Cloison file helper: runs INSIDE a bubblewrap sandbox that sees only one cage's home (at /home/cage),
// as that cage's uid, with no network and no capability. Plain JavaScript with no dependencies,
// because the sandbox holds nothing but /usr and this file.
//
//   list  RELPATH          → one JSON line: [{ name, kind, size }] for a directory's entries
//   stat  RELPATH          → one JSON line: { kind, size, mtimeMs, ctimeMs, dev, ino, nlink, head }
//                            (head: first 64 bytes, hex): the file's identity as listed
//   read  RELPATH IDENTITY → the file's bytes on stdout, only if the file opened is the one listed
//                            (IDENTITY: that JSON; same device, inode, size, mtime, ctime) and it
//                            does not change while read; refuses a file with other names (hard links)
//   write DIR NAME SOURCE SIZE  ← the supervisor's staged copy, bound read-only at SOURCE, copied by
//                              the kernel (SIZE bytes, checked); stages, fsyncs, prints {"staged":true}, then
//                              waits on fd 3: "c" links the file without overwriting; anything else
//                              (or EOF) drops it. Nothing is visible under its name before "c".
//   clean DIR              → removes partial files a killed transfer left in DIR
//   serve STAGE_BYTES      ← fd 0 is a stream socket (the helper's channel, handed to the unprivileged
//                            part by the root cage manager): one JSON request a line, each run as the
//                            mode above by a child of this helper (same sandbox, same uid), answered
//                            as JSON lines with its id: {id,out} (base64 chunks of its output),
//                            {id,exit,stderr}. write: {id,mode:"write",args:[DIR,NAME],data} (base64:
//                            staged in this sandbox's /tmp, at most STAGE_BYTES staged at once,
//                            more refused), answered {id,out} with {"staged":true},
//                            then {id,commit:true|false} from the part. Streamed:
//                            {id,mode:"write",args:[DIR,NAME],size} (the SIZE bytes reserved against
//                            STAGE_BYTES at once, refused unreserved past it), then {id,chunk} lines
//                            (base64) until SIZE bytes came; one byte more drops the write, refused.
//                            The channel closed, it exits.
//
// Every path is relative to /home/cage, walked one component at a time without following a
// single symlink; names with NUL or "/" and ".." components are refused. Exit codes: 0 done,
// 2 refused (the message on stderr is for the user), 1 failure.
import { closeSync, constants as C, copyFileSync, fstatSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';

const ROOT = '/home/cage';
const PARTIAL = '.cloison-partial-';

function refuse(message) {
  process.stderr.write(message + '\n');
  process.exit(2);
}

function kindOf(st) {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'device';
}

/** Checks a relative path and returns its absolute form; every parent must be a real directory. */
function walk(rel, { mustExist = true } = {}) {
  if (typeof rel !== 'string' || rel.length === 0 || rel.length > 4096) refuse('empty or overlong path');
  if (rel.includes('\0')) refuse('a name contains NUL');
  if (rel.startsWith('/')) refuse('absolute paths leave the home');
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) refuse('".." leaves the home');
  let path = ROOT;
  for (const [i, part] of parts.entries()) {
    path += '/' + part;
    let st;
    try {
      st = lstatSync(path);
    } catch {
      if (!mustExist && i === parts.length - 1) return path;
      refuse(`no such file: ${rel}`);
    }
    if (st.isSymbolicLink()) refuse(`${rel} goes through a symbolic link`);
    if (i < parts.length - 1 && !st.isDirectory()) refuse(`${rel}: a parent is not a directory`);
  }
  return path;
}

function stat(rel) {
  const path = walk(rel);
  const st = lstatSync(path);
  const out = { kind: kindOf(st), size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, dev: st.dev, ino: st.ino, nlink: st.nlink, head: '' };
  if (st.isFile()) {
    const fd = openSync(path, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    const buf = Buffer.alloc(64);
    const n = readSync(fd, buf, 0, 64, 0);
    closeSync(fd);
    out.head = buf.subarray(0, n).toString('hex');
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

function list(rel) {
  const dir = rel === '' || rel === '.' ? ROOT : walk(rel);
  if (!lstatSync(dir).isDirectory()) refuse(`${rel} is not a directory`);
  const entries = readdirSync(dir)
    .filter((name) => !name.startsWith(PARTIAL))
    .slice(0, 5000)
    .map((name) => {
      const st = lstatSync(dir + '/' + name);
      return { name, kind: kindOf(st), size: st.size };
    });
  process.stdout.write(JSON.stringify(entries) + '\n');
}

const IDENTITY = ['dev', 'ino', 'size', 'mtimeMs', 'ctimeMs'];

function sameFile(st, listed) {
  return IDENTITY.every((k) => st[k] === listed[k]);
}

function read(rel, identity) {
  let listed;
  try {
    listed = JSON.parse(identity);
  } catch {
    refuse('no identity to check the file against');
  }
  const path = walk(rel);
  const fd = openSync(path, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  const before = fstatSync(fd);
  if (!before.isFile()) refuse(`${rel} is not a regular file`);
  if (before.nlink > 1) refuse(`${rel} has other names (hard links): its content could change through them`);
  // Replaced, rewritten or touched since it was listed (its owner can put mtime back, not ctime).
  if (!sameFile(before, listed)) refuse(`${rel} changed between the listing and the copy`);
  const buf = Buffer.alloc(1024 * 1024);
  let total = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    total += n;
    if (total > before.size) refuse(`${rel} grew while being copied`);
    let off = 0;
    while (off < n) off += writeSync(1, buf, off, n - off);
  }
  const after = fstatSync(fd);
  closeSync(fd);
  if (total !== before.size || !sameFile(after, listed)) refuse(`${rel} changed while being copied`);
}

function ensureDir(rel) {
  const parts = rel.split('/').filter(Boolean);
  let path = ROOT;
  for (const part of parts) {
    path += '/' + part;
    try {
      const st = lstatSync(path);
      if (!st.isDirectory() || st.isSymbolicLink()) refuse(`${rel} exists and is not a plain directory`);
    } catch {
      mkdirSync(path, { mode: 0o755 });
    }
  }
  return path;
}

function clean(dirRel) {
  const dir = ensureDir(dirRel);
  for (const name of readdirSync(dir)) if (name.startsWith(PARTIAL)) unlinkSync(dir + '/' + name);
}

function write(dirRel, name, source, size) {
  if (!name || name.includes('/') || name.includes('\0') || name === '.' || name === '..') refuse('refused file name');
  const dir = ensureDir(dirRel);
  const tmp = `${dir}/${PARTIAL}${randomBytes(8).toString('hex')}`;
  try {
    // Exclusive creation: a link planted under the temporary name is never followed.
    copyFileSync(source, tmp, C.COPYFILE_EXCL);
    const fd = openSync(tmp, C.O_RDONLY | C.O_NOFOLLOW);
    const copied = fstatSync(fd).size;
    fsyncSync(fd);
    closeSync(fd);
    if (copied !== Number(size)) {
      unlinkSync(tmp);
      refuse(`the staged copy did not land whole (${copied} of ${size} bytes)`);
    }
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  // The supervisor commits only once the staged copy was written here whole.
  process.stdout.write(JSON.stringify({ staged: true }) + '\n');
  const control = Buffer.alloc(1);
  let got = 0;
  try {
    got = readSync(3, control, 0, 1, null);
  } catch {
    got = 0;
  }
  if (got !== 1 || control[0] !== 0x63) {
    unlinkSync(tmp);
    refuse('transfer abandoned');
  }
  // Never overwrite: link under the first free name (a suffix on collision), then drop the temp name.
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let i = 0; i < 1000; i++) {
    const candidate = i === 0 ? name : `${stem} (${i})${ext}`;
    try {
      linkSync(tmp, `${dir}/${candidate}`);
      unlinkSync(tmp);
      const dfd = openSync(dir, C.O_RDONLY);
      fsyncSync(dfd);
      closeSync(dfd);
      process.stdout.write(JSON.stringify({ name: candidate }) + '\n');
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
  }
  unlinkSync(tmp);
  refuse('no free name for the file');
}

/** The longest request line the channel ever takes (a write's data, base64, included). */
const MAX_LINE = 96 * 1024 * 1024;
const SERVED_MODES = ['list', 'stat', 'read', 'clean', 'write'];

// stageArg: the most bytes the writes staged at once may hold (the manager's: the policy's largest
// file); a line is at most that in base64, and a write past what is left is refused unstaged.
function serve(stageArg) {
  const stageLimit = Math.max(0, Math.floor(Number(stageArg) || 0));
  const maxLine = Math.min(MAX_LINE, Math.ceil(stageLimit / 3) * 4 + 64 * 1024);
  let stagedBytes = 0;
  const channel = new Socket({ fd: 0, readable: true, writable: true });
  const running = new Map();
  // Streamed writes still coming: id → { fd, staged, size, received, dir, name } (size reserved).
  const streaming = new Map();
  const send = (m) => channel.write(JSON.stringify(m) + '\n');
  const start = (id, mode, args) => {
    const child = spawn(process.execPath, [process.argv[1], mode, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    running.set(id, child);
    child.stdio[3].on('error', () => undefined); // the child gone first: its exit says what happened
    let stderr = '';
    child.stdout.on('data', (out) => send({ id, out: out.toString('base64') }));
    child.stderr.on('data', (e) => (stderr = (stderr + e.toString()).slice(-2000)));
    child.on('close', (code) => {
      running.delete(id);
      if (mode === 'write') {
        try { unlinkSync(args[2]); } catch { /* gone */ }
        stagedBytes -= Number(args[3]);
      }
      send({ id, exit: code ?? 1, stderr: stderr.trim() });
    });
  };
  // A streamed write that cannot go on: its staged part removed, its reservation freed, refused.
  const drop = (id, s, why) => {
    streaming.delete(id);
    try { closeSync(s.fd); } catch { /* closed */ }
    try { unlinkSync(s.staged); } catch { /* gone */ }
    stagedBytes -= s.size;
    send({ id, exit: 2, stderr: why });
  };
  let buf = '';
  channel.on('data', (d) => {
    buf += d.toString('utf8');
    if (buf.length > maxLine && !buf.includes('\n')) { channel.destroy(); process.exit(1); }
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let req;
      try { req = JSON.parse(line); } catch { req = null; }
      if (!req || typeof req.id !== 'number') { send({ id: null, exit: 2, stderr: 'not a request' }); continue; }
      if ('chunk' in req) {
        const s = streaming.get(req.id);
        if (!s) continue; // a write already refused or whole: what still comes changes nothing
        const bytes = Buffer.from(typeof req.chunk === 'string' ? req.chunk : '', 'base64');
        if (bytes.length > s.size - s.received) { drop(req.id, s, `more than the ${s.size} bytes announced`); continue; }
        try {
          let off = 0;
          while (off < bytes.length) off += writeSync(s.fd, bytes, off, bytes.length - off);
        } catch (e) {
          drop(req.id, s, `${e.code ?? ''} ${e.message}`.trim());
          continue;
        }
        s.received += bytes.length;
        if (s.received === s.size) {
          streaming.delete(req.id);
          closeSync(s.fd);
          start(req.id, 'write', [s.dir, s.name, s.staged, String(s.size)]);
        }
        continue;
      }
      if ('commit' in req) {
        const child = running.get(req.id);
        // Once: a second commit (or one for a request that is no write) changes nothing.
        const control = child?.stdio[3];
        if (control && !control.writableEnded) control.end(req.commit === true ? 'c' : '');
        continue;
      }
      const streamed = req.mode === 'write' && !('data' in req);
      if (!SERVED_MODES.includes(req.mode) || !Array.isArray(req.args) || !req.args.every((a) => typeof a === 'string') || running.has(req.id) || streaming.has(req.id) || (streamed && !(Number.isSafeInteger(req.size) && req.size >= 0))) { send({ id: req.id, exit: 2, stderr: 'not a request' }); continue; }
      let args = req.args;
      if (req.mode === 'write') {
        const data = streamed ? null : Buffer.from(typeof req.data === 'string' ? req.data : '', 'base64');
        const size = data ? data.length : req.size;
        if (size > stageLimit - stagedBytes) {
          send({ id: req.id, exit: 2, stderr: `${size} bytes to stage, ${stageLimit - stagedBytes} of ${stageLimit} left: commit or drop a staged write first` });
          continue;
        }
        stagedBytes += size;
        const staged = `/tmp/staged-${randomBytes(8).toString('hex')}`;
        const fd = openSync(staged, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
        args = [req.args[0] ?? '', req.args[1] ?? '', staged, String(size)];
        if (data) writeSync(fd, data);
        else if (size > 0) {
          streaming.set(req.id, { fd, staged, size, received: 0, dir: args[0], name: args[1] });
          continue;
        }
        closeSync(fd);
      }
      start(req.id, req.mode, args);
    }
  });
  channel.on('close', () => {
    for (const child of running.values()) child.kill('SIGKILL');
    for (const s of streaming.values()) { try { unlinkSync(s.staged); } catch { /* gone */ } }
    process.exit(0);
  });
  channel.on('error', () => channel.destroy());
}

const [mode, ...args] = process.argv.slice(2);
try {
  if (mode === 'serve') serve(args[0]);
  else if (mode === 'list') list(args[0] ?? '');
  else if (mode === 'stat') stat(args[0]);
  else if (mode === 'read') read(args[0], args[1]);
  else if (mode === 'write') write(args[0], args[1], args[2], args[3]);
  else if (mode === 'clean') clean(args[0]);
  else refuse(`unknown mode ${mode}`);
} catch (e) {
  process.stderr.write(`${e.code ?? ''} ${e.message}\n`);
  process.exit(1);
}
