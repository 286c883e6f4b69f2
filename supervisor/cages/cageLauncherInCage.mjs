// Cloison cage launcher: runs INSIDE a cage, started by the cage's session before anything else, so
// it and every program it starts carry what the session carries: the cage's syscall filter, its
// control group, its namespaces, its uid, no capability. It is the only way the supervisor starts
// anything in a cage (cageLauncher.ts is the supervisor's side). Plain JavaScript with no
// dependencies: the cage holds nothing but /usr and this file.
//
// It connects to the supervisor's socket for this cage (/run/cloison-launcher/launcher.sock, in a
// folder only root can write: nobody else can take that name), and connects again whenever the
// connection ends — a supervisor that crashed, restarted or was upgraded finds it again
// (launcherEndpoint.ts checks on its side that the peer is this very process). On each connection
// it first says what it started and still runs: {"event":"hello","programs":[{pid,argv,startedAt}]}.
// The supervisor writes one JSON request per line; the launcher answers one JSON line per reply:
//   {"id":N,"op":"launch","argv":[...],"env":{...}}  → {"id":N,"pid":P} | {"id":N,"error":"..."}
//       starts a program in a session and process group of its own and leaves it running; its
//       output goes to the session log in the cage's home; {"event":"exit","pid":P,...} when it ends
//   {"id":N,"op":"run","argv":[...],"env":{...},"input":B64,"timeoutMs":T}
//       → {"id":N,"code":C,"signal":S|null,"stdout":B64,"stderr":B64}, each output cut at MAX_OUTPUT
//   {"id":N,"op":"stop","pid":P,"signal":"SIGTERM"|"SIGKILL"} → {"id":N,"stopped":true|false}
//       signals the process group of a program this launcher started, and nothing else
// The cage can kill or replace its launcher (same uid): that only denies it programs the supervisor
// would start, never gains it anything; the supervisor parses every reply as untrusted input.
import { spawn } from 'node:child_process';
import { closeSync, constants as C, lstatSync, openSync, watch } from 'node:fs';
import { createConnection } from 'node:net';

const MAX_REQUEST = 4 * 1024 * 1024;
const MAX_OUTPUT = 1024 * 1024;
const MAX_ARGS = 256;
const MAX_ARG = 64 * 1024;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const SESSION_LOG = `${process.env.HOME ?? '/home/cloison'}/.cloison-session.log`;

const SOCKET_DIR = '/run/cloison-launcher';
const SOCKET = `${SOCKET_DIR}/launcher.sock`;
/** How often the socket is tried while no supervisor answers (besides each change in its folder). */
const RETRY_MS = 1000;

/** The connection to the supervisor now, or null while there is none. */
let channel = null;
let connecting = false;
/** pid → { child, argv, startedAt }: only these may be stopped. */
const launched = new Map();

function reply(message) {
  // Nobody to tell while no supervisor runs: the next one hears what still runs in the hello.
  channel?.write(`${JSON.stringify(message)}\n`);
}

function checkRequest(r) {
  if (typeof r !== 'object' || r === null || !Number.isSafeInteger(r.id)) return 'no request id';
  if (r.op === 'stop') return Number.isSafeInteger(r.pid) && (r.signal === 'SIGTERM' || r.signal === 'SIGKILL') ? null : 'bad stop request';
  if (r.op !== 'launch' && r.op !== 'run') return `unknown operation ${String(r.op).slice(0, 20)}`;
  if (!Array.isArray(r.argv) || r.argv.length < 1 || r.argv.length > MAX_ARGS) return 'argv must hold 1 to 256 strings';
  if (!r.argv.every((a) => typeof a === 'string' && a.length <= MAX_ARG && !a.includes('\0')) || r.argv[0] === '') return 'bad argv';
  if (typeof r.env !== 'object' || r.env === null || Array.isArray(r.env)) return 'env must be an object';
  for (const [k, v] of Object.entries(r.env)) if (!ENV_NAME.test(k) || typeof v !== 'string' || v.length > MAX_ARG || v.includes('\0')) return `bad env entry ${k.slice(0, 64)}`;
  if (r.op === 'run' && !(typeof r.input === 'string' && Number.isSafeInteger(r.timeoutMs) && r.timeoutMs > 0)) return 'bad run request';
  return null;
}

function launch(r) {
  let log = 'ignore';
  try {
    log = openSync(SESSION_LOG, C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_NOFOLLOW, 0o600);
  } catch {
    /* a home with no room or a planted link: the program runs without a log */
  }
  const child = spawn(r.argv[0], r.argv.slice(1), { env: { ...process.env, ...r.env }, stdio: ['ignore', log, log], detached: true, cwd: process.env.HOME });
  if (typeof log === 'number') closeSync(log);
  child.once('spawn', () => {
    launched.set(child.pid, { child, argv: r.argv, startedAt: Date.now() });
    reply({ id: r.id, pid: child.pid });
  });
  child.once('error', (err) => {
    if (!launched.has(child.pid)) reply({ id: r.id, error: `cannot start ${r.argv[0].slice(0, 200)}: ${err.code ?? err.message}` });
  });
  child.once('exit', (code, signal) => {
    if (!launched.delete(child.pid)) return;
    reply({ event: 'exit', pid: child.pid, code, signal });
  });
}

function collect(stream) {
  const chunks = [];
  let size = 0;
  stream.on('data', (d) => {
    if (size >= MAX_OUTPUT) return;
    chunks.push(d.subarray(0, MAX_OUTPUT - size));
    size += d.length;
  });
  return () => Buffer.concat(chunks).toString('base64');
}

// A program run to its end is the supervisor's own tool (or a test's), whose output is read: it
// speaks C.UTF-8 whatever the cage's language, which the applications it launches speak.
const { LANGUAGE: _language, ...RUN_ENV } = { ...process.env, LANG: 'C.UTF-8' };

function run(r) {
  const child = spawn(r.argv[0], r.argv.slice(1), { env: { ...RUN_ENV, ...r.env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true, cwd: process.env.HOME });
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  let answered = false;
  const answer = (message) => {
    if (answered) return;
    answered = true;
    clearTimeout(timer);
    reply({ id: r.id, ...message });
  };
  // The whole process group: what the command started in the background ends with it.
  const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), r.timeoutMs);
  child.once('error', (err) => answer({ error: `cannot start ${r.argv[0].slice(0, 200)}: ${err.code ?? err.message}` }));
  child.once('close', (code, signal) => answer({ code, signal, stdout: stdout(), stderr: stderr() }));
  child.stdin.on('error', () => undefined);
  child.stdin.end(Buffer.from(r.input, 'base64'));
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

function handle(line) {
  let r;
  try {
    r = JSON.parse(line);
  } catch {
    return;
  }
  const problem = checkRequest(r);
  if (problem) return reply({ id: Number.isSafeInteger(r?.id) ? r.id : -1, error: problem });
  if (r.op === 'launch') return launch(r);
  if (r.op === 'run') return run(r);
  reply({ id: r.id, stopped: launched.has(r.pid) && killGroup(r.pid, r.signal) });
}

/** Only root can have made the socket and its folder: anything else is not the supervisor. */
function supervisorSocket() {
  try {
    const dir = lstatSync(SOCKET_DIR);
    const sock = lstatSync(SOCKET);
    return dir.isDirectory() && dir.uid === 0 && (dir.mode & 0o022) === 0 && sock.isSocket() && sock.uid === 0;
  } catch {
    return false;
  }
}

function connect() {
  if (channel || connecting || !supervisorSocket()) return;
  connecting = true;
  const socket = createConnection(SOCKET);
  let pending = '';
  socket.setEncoding('utf8');
  socket.once('connect', () => {
    connecting = false;
    channel = socket;
    const programs = [...launched].map(([pid, p]) => ({ pid, argv: p.argv, startedAt: p.startedAt }));
    reply({ event: 'hello', programs });
  });
  socket.on('data', (text) => {
    pending += text;
    let newline;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      handle(line);
    }
    if (pending.length > MAX_REQUEST) socket.destroy();
  });
  socket.on('error', () => undefined);
  // The supervisor has gone (or refused this one): what was started keeps running; the next one is awaited.
  socket.once('close', () => {
    if (channel === socket) channel = null;
    connecting = false;
  });
}

try {
  watch(SOCKET_DIR, () => connect());
} catch {
  /* no inotify: the timer alone */
}
setInterval(connect, RETRY_MS);
connect();
