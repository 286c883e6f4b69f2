// npm start: starts the supervisor (with its two cages) and the shell window.
// Uses Electron when its binary is installed, otherwise the browser host in Chromium --app mode,
// and says which and why. Ctrl+C stops everything it started, cages included (exit status 130): the
// cages' applications asked to quit first (stopOrder.mjs: what it starts is off the terminal's group).
//
// The browser host's Chromium never runs as root: it runs, with its sandbox on, as the user who
// typed `sudo npm start` (SUDO_USER) or the account --shell-user names. Its launch address holds a
// single-use secret and never appears on a command line: Chromium opens a file only that user can
// read, which sends it on.
//
// By default the split (#29): the root cage manager (out/supervisor/cageManager.js) starts the
// supervisor as its unprivileged `cloison` part and prints the part's two lines as its own; when
// the part ends, the manager starts it again and the shell's window is reopened at its new address.
// A training session's scenario is then read, and its report written, by that part (as cloison).
// The manager and its part run from a root-owned copy of what they load (partCode.mjs), made at
// each start beside the run folder and removed at stop: the checkout's own folders, a private
// home's among them, are never opened to the cloison account. --single (or
// CLOISON_SPLIT=0): the root supervisor alone (out/supervisor/main.js), as before the split, for
// whoever needs it (a comparison, a host without the cloison account). --split names the default.
//
//   npm start [-- --policy FILE] [-- --no-window] [-- --kiosk] [-- --shell-user NAME] [-- --single]
//             [-- --training SCENARIO.yaml [--trainee NAME] [--report-dir DIR]]
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createLaunchPage } from './launchPage.mjs';
import { copyPartCode, givenFileForPart, readableBy } from './partCode.mjs';
import { partFolderProblem } from './partFolderReach.mjs';
import { unmountLeftByManager } from './runFolderMounts.mjs';
import { rootPartCommand } from './rootPartLaunch.mjs';
import { removeOldPartEntries } from './oldPartReach.mjs';
import { hostShellLocale, shellChromiumArgs, writeShellChromiumProfile } from './shellChromium.mjs';
import { displayKeyboardArgument, readShellDisplay, shellWindowArgs } from './shellDisplay.mjs';
import { outputTail, shellWindowEndMessage } from './shellWindowEnd.mjs';
import { OWN_GROUP, withParentDeathSignal } from './stopOrder.mjs';

const { values } = parseArgs({
  options: {
    policy: { type: 'string' },
    'no-window': { type: 'boolean', default: false },
    kiosk: { type: 'boolean', default: false },
    port: { type: 'string' },
    'state-dir': { type: 'string' },
    'run-dir': { type: 'string' },
    'shell-user': { type: 'string' },
    training: { type: 'string' },
    trainee: { type: 'string' },
    'report-dir': { type: 'string' },
    split: { type: 'boolean', default: false },
    single: { type: 'boolean', default: false },
  },
  strict: true,
});

const say = (msg) => process.stdout.write(`cloison: ${msg}\n`);
const root = new URL('..', import.meta.url).pathname;

if (values.single && values.split) {
  say('--single and --split: one or the other (the split is the default)');
  process.exit(2);
}
// The split unless --single or CLOISON_SPLIT=0 says otherwise (--split or CLOISON_SPLIT=1 say it too).
const split = values.split || (!values.single && process.env.CLOISON_SPLIT !== '0');

// Split: the cage manager is the program started (as root), the supervisor its `cloison` part.
const program = split ? 'out/supervisor/cageManager.js' : 'out/supervisor/main.js';
if (split && process.getuid?.() !== 0) {
  say('npm start starts the cage manager, which runs as root: use sudo npm start (or, for the root supervisor alone, sudo npm start -- --single)');
  process.exit(1);
}
if (split && spawnSync('id', ['-u', 'cloison'], { stdio: 'ignore' }).status !== 0) {
  say('no cloison account, which the split\'s unprivileged part runs as: run sudo bash scripts/setup.sh (or npm start -- --single)');
  process.exit(1);
}
// The folders the part runs from and keeps its files in, beside the run and state folders, reachable
// by the cloison account: said now, before anything is copied, mounted or started (partFolderReach.mjs).
if (split) {
  const problems = [['--run-dir', values['run-dir'] ?? '/run/cloison'], ['--state-dir', values['state-dir'] ?? '/var/lib/cloison']].map(([what, folder]) => partFolderProblem('cloison', folder, what)).filter(Boolean);
  if (problems.length > 0) {
    for (const problem of problems) say(problem);
    process.exit(1);
  }
}
// The split's main bundles beside its entries: an out/ of an older build (the manager in chunks) is built again.
const built = [program, 'out/renderer/index.html', ...(split ? ['out/supervisor/cageManagerMain.cjs', 'out/supervisor/cloisonPart.js', 'out/supervisor/cloisonPartMain.cjs'] : [])];
if (!built.every((file) => existsSync(join(root, file)))) {
  say('building (first start)…');
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** The Electron binary path, or the reason there is none. */
function findElectron() {
  try {
    const path = createRequire(import.meta.url)('electron');
    if (typeof path === 'string' && existsSync(path)) return { path };
    return { reason: 'the electron package names no binary' };
  } catch (err) {
    return { reason: `the Electron binary is not installed (${String(err.message).split('\n')[0]}); its download is blocked on some networks` };
  }
}

const children = new Set();
/** The shell's window now (Chromium or Electron); one replaced on purpose does not stop everything when it exits. */
let shellWindow = null;
const replacedWindows = new WeakSet();
/** The supervisor, given longer to stop than the shell's windows (stopAll). */
let supervisorChild = null;
/** Run once everything has stopped (the Chromium profile goes then, when nothing writes it). */
const cleanups = [];
let stopping = false;
function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  const running = (child) => child.exitCode === null && child.signalCode === null;
  const windows = () => [...children].filter((child) => child !== supervisorChild);
  const done = () => {
    for (const cleanup of cleanups) {
      try {
        cleanup();
      } catch {
        /* nothing more to do on the way out */
      }
    }
    process.exit(code);
  };
  const wait = setInterval(() => {
    if ([...children].every((c) => c.exitCode !== null || c.signalCode !== null)) {
      clearInterval(wait);
      done();
    }
  }, 50);
  // The supervisor first: it asks the cages' applications to quit (appQuitSeconds, 60 s at most),
  // then stops the cages and its part; the shell's window, which shows them closing, after it (8 s).
  const stopWindows = () => {
    for (const child of windows()) if (running(child)) child.kill('SIGTERM');
    setTimeout(() => {
      for (const child of windows()) if (running(child)) child.kill('SIGKILL');
    }, 8000).unref();
  };
  if (supervisorChild && running(supervisorChild)) {
    supervisorChild.kill('SIGTERM');
    supervisorChild.once('exit', stopWindows);
  } else stopWindows();
  // Killed meanwhile, the supervisor would leave the cages running (adopted at the next start).
  setTimeout(() => {
    for (const child of children) child.kill('SIGKILL');
    setTimeout(done, 200);
  }, SUPERVISOR_STOP_MS).unref();
}
/** The supervisor's longest stop: the applications' quitting (60 s at most) and the cages' own end. */
const SUPERVISOR_STOP_MS = 90_000;

// Ctrl+C is the user's way to stop: 128 + SIGINT, as a shell reports it.
// npm passes its own SIGINT on as well: one Ctrl+C is two signals here, the second one ignored.
process.on('SIGINT', () => stopAll(130));
process.on('SIGTERM', () => stopAll(143));
// The terminal closed: the same stop (its children, in their own sessions, do not see the hangup).
process.on('SIGHUP', () => stopAll(129));
/** Before the supervisor is started: what was started (the shell's window) stopped, then the exit; nothing after it runs. */
function stopBeforeStart(code) {
  stopAll(code);
  return new Promise(() => {});
}

const electron = values['no-window'] ? { reason: 'no window was asked for' } : findElectron();
/**
 * The keyboard layout of the display the shell opens on, read there as its user (shellDisplay.mjs):
 * given to the supervisor (split: the manager, which hands it to its part) as the host's layout
 * when the policy names none, before /etc/default/keyboard. Null: none read (no window, no X
 * display, a layout that is not an XKB name), and the part reads the host's files as before.
 */
let displayKeyboard = null;
// The browser window opens first, on a page that waits for the supervisor (launchPage.mjs); it is
// sent on once the supervisor listens. Chromium's own start (seconds on two loaded cores) then runs
// beside the part code's copy, the manager's and the cages' starts, not after the copy: it needs
// nothing of them, and its launch file holds no secret until the address is written in it.
const browserWindow = electron.path || values['no-window'] ? null : openBrowserWindow();
if (stopping) await stopBeforeStart(1); // refused: no user to run Chromium as
// Electron makes its own window maximized (electron/windowOptions.ts); its display's layout is read here as well.
if (electron.path && !values['no-window']) displayKeyboard = electronDisplayKeyboard();
if (displayKeyboard) say(`keyboard: ${displayKeyboardArgument(displayKeyboard)}, the display's (setxkbmap -query), unless the policy names one`);

// Split: the manager and its part run from a root-owned copy, never from the checkout (partCode.mjs).
let programPath = join(root, program);
if (process.getuid?.() === 0) for (const folder of removeOldPartEntries(root)) say(`an older npm start had let the cloison account pass through ${folder} (an ACL entry): no longer needed, removed`);
if (split) {
  let code;
  try {
    code = copyPartCode(root, resolve(values['run-dir'] ?? '/run/cloison'));
  } catch (err) {
    say(`cannot copy what the cloison part runs: ${err.message}`);
    await stopBeforeStart(1);
  }
  cleanups.push(code.remove);
  // A manager that died on its way leaves its run folder's mounts: taken down once it has ended (runFolderMounts.mjs).
  cleanups.push(() => {
    for (const point of unmountLeftByManager(values['run-dir'] ?? '/run/cloison')) say(`${point}: left mounted by the cage manager, which did not stop itself; unmounted`);
  });
  programPath = join(code.folder, program);
  // The scenario, which the part reads itself (the policy it never reads: it runs the manager's
  // text), named where the cloison account cannot reach it (a checkout's training/ examples in a
  // private home): its copy, beside the code, if anyone may read it.
  for (const key of ['training']) {
    if (!values[key] || readableBy('cloison', values[key])) continue;
    const given = givenFileForPart(code.folder, values[key], key);
    if (!given) continue; // a file only its owner reads: the part says why it cannot read it
    say(`the cloison part cannot reach ${values[key]} where it is: it reads a copy made now (${given}), until npm start is started again`);
    values[key] = given;
  }
}
// The browser shell (the renderer and its RPC on 127.0.0.1) is on only when it is the shell.
const browserShell = !electron.path;
// The parts' Node flags (supervisor/sandbox/unprivilegedPart.ts's PART_NODE_FLAGS, which the
// manager's code cache is written under): 1 MiB semi-spaces and V8's lite mode (bench/RESULTS.md,
// apps-memory). deploy/packaging.test.ts keeps this list in step.
const supervisorArgs = ['--max-semi-space-size=1', '--lite-mode', '--no-expose-wasm', programPath, '--allow-origin', 'app://cloison', ...(browserShell ? ['--browser-shell', '--print-launch-url'] : [])];
if (values.policy) supervisorArgs.push('--policy', values.policy);
if (values.port) supervisorArgs.push('--port', values.port);
if (values['state-dir']) supervisorArgs.push('--state-dir', values['state-dir']);
if (values['run-dir']) supervisorArgs.push('--run-dir', values['run-dir']);
for (const key of ['training', 'trainee', 'report-dir']) if (values[key]) supervisorArgs.push(`--${key}`, values[key]);
if (displayKeyboard) supervisorArgs.push('--display-keyboard', displayKeyboardArgument(displayKeyboard));
// Whose password unlocks the lock screen: the person the shell is for (as Chromium runs as them).
const shellAccount = values['shell-user'] ?? process.env.SUDO_USER ?? (process.getuid?.() !== 0 ? process.env.USER : undefined);
if (shellAccount && shellAccount !== 'root') supervisorArgs.push('--shell-user', shellAccount);
// Its bounding set cut before it starts: no re-execution, whose start a reload could end (rootPartLaunch.mjs).
// Off the terminal's group, stopped by start.mjs in order; SIGINT when start.mjs is gone (stopOrder.mjs).
const launch = withParentDeathSignal(rootPartCommand(process.execPath, supervisorArgs), 'SIGINT');
const supervisor = spawn(launch.command, launch.args, {
  ...OWN_GROUP,
  stdio: ['ignore', 'pipe', 'inherit'],
  // One malloc arena, as every part (PART_NODE_ENV, supervisor/sandbox/unprivilegedPart.ts; the
  // units set the same): the test in deploy/packaging.test.ts keeps them in step.
  env: { CLOISON_LOG_LEVEL: 'warn', ...process.env, MALLOC_ARENA_MAX: '1' },
});
children.add(supervisor);
supervisorChild = supervisor;
supervisor.on('exit', (code) => {
  if (stopping) return;
  say(`supervisor exited (${code}); stopping`);
  stopAll(code ?? 1);
});

const lines = createInterface({ input: supervisor.stdout });
// The supervisor's "listening" line (with its shell's socket), then its "ready" line. Split, the
// cage manager says first that it listens (no shell's socket: not the shell's line), then prints
// its part's two lines, or that its part did not start.
let listening = null;
lines.on('line', (line) => {
  let said = null;
  try {
    said = JSON.parse(line);
  } catch {
    /* not a line of ours */
  }
  if (split && said?.partFailed) {
    say(`the cloison part did not start: ${said.reason}`);
    return stopAll(1);
  }
  if (split && said?.listening && !said.rpcSocket) return;
  // Split, the manager starts its part again when it ends: the new part's "listening" line has a
  // new launch address (the secret was the old part's, in its memory, and the shell's sessions
  // went with it), and the shell's window is reopened there.
  if (split && listening && said?.listening) return reopenShell(said);
  if (!listening) {
    if (!said?.listening) {
      say('supervisor did not start');
      return stopAll(1);
    }
    listening = said;
    if (values['no-window']) say(`no window: the shell is at ${listening.url} (one shell, once)`);
    else if (electron.path) openElectron(listening);
    else browserWindow?.go(listening.url);
    return;
  }
  // The cages' statuses are also in the shell.
  if (said?.ready) for (const cage of said.cages ?? []) say(`cage ${cage.level}: ${cage.status}${cage.detail ? ` (${cage.detail})` : ''}`);
});

/**
 * The shell's window ended. Closed by its user (status 0 once on the shell): everything stops, as
 * before. Ended by itself (a status or a signal: a crash, a display it could not open), npm start
 * says how on its stderr, in the host's language, with the last lines Chromium printed, and ends
 * with status 1 (issue #26: the window never appeared, and npm start ended saying nothing, status 0).
 * Status 0 before the shell's address was sent: said too (a user closing the waiting window, or a
 * Chromium giving up without a status), npm start's own status 0.
 */
async function windowClosed(child, code, signal, tail, reachedShell) {
  if (replacedWindows.has(child) || stopping) return;
  if (code === 0 && !signal && (!tail || reachedShell())) return stopAll(0);
  await tail?.settled();
  if (stopping) return;
  const said = tail ? { lines: tail.lines(), reachedShell: reachedShell() } : { lines: null, reachedShell: true, host: 'Electron' };
  process.stderr.write(shellWindowEndMessage({ code, signal, ...said, locale: hostShellLocale() }));
  stopAll(code === 0 && !signal ? 0 : 1);
}

/**
 * The restarted part's address: the old window closed and a new one opened there (a Chromium of a
 * new profile, or Electron with the new socket and origin); without a window, the address printed.
 * Not kept stable: a new part holds new secrets, and a window left on the old address would only
 * show a shell cut off from everything.
 */
function reopenShell(said) {
  listening = said;
  say('the cloison part was started again: the shell reopens at its new address');
  if (values['no-window']) return say(`no window: the shell is at ${said.url} (one shell, once)`);
  if (shellWindow && shellWindow.exitCode === null && shellWindow.signalCode === null) {
    replacedWindows.add(shellWindow);
    shellWindow.kill('SIGTERM');
  }
  if (electron.path) return openElectron(said);
  openBrowserWindow({ again: true })?.go(said.url);
}

function openElectron(ready) {
  say('host: Electron');
  const window = withParentDeathSignal({ command: electron.path, args: [join(root, 'out/electron/main.cjs')] }, 'SIGTERM');
  const child = spawn(window.command, window.args, {
    ...OWN_GROUP,
    stdio: 'inherit',
    env: { ...process.env, CLOISON_RPC_SOCKET: ready.rpcSocket, CLOISON_GATEWAY_ORIGIN: ready.origin, CLOISON_KIOSK: values.kiosk ? '1' : '0' },
  });
  children.add(child);
  shellWindow = child;
  child.on('exit', (code, signal) => windowClosed(child, code, signal));
}

/**
 * Chromium --app on a launch file only its user can read: first a page that reloads itself until
 * the address is there, then (go) the redirect to the address with its single-use secret. Null,
 * having said why, when there is no Chromium, no display, or no user to run it as.
 */
function openBrowserWindow({ again = false } = {}) {
  if (!again) say(`host: browser (Chromium --app), because ${electron.reason}`);
  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
  const later = (why) => ({ go: (url) => say(`${why}: open ${url}`) });
  if (!chromium) return later('no Chromium found (install chromium)');
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return later('no display to open a window on (open the address from a desktop session, or use --no-window)');
  const user = shellUser();
  if (user.refusal) {
    say(user.refusal);
    stopAll(1);
    return null;
  }
  // The profile, the launch file and the display's cookie belong to the user Chromium runs as.
  const profile = mkdtempSync(join(tmpdir(), 'cloison-shell-'));
  const launch = createLaunchPage(profile, process.getuid?.() === 0 ? user : null);
  // Chromium's own language is the host's (it starts before the supervisor has read the policy);
  // the page shows the policy's, and no Chromium UI ever shows over it.
  const locale = hostShellLocale();
  writeShellChromiumProfile(profile, { locale, owner: process.getuid?.() === 0 ? user : null });
  const env = { HOME: user.home, USER: user.name, LOGNAME: user.name, PATH: '/usr/bin:/bin', LANG: process.env.LANG ?? 'C.UTF-8' };
  for (const key of ['DISPLAY', 'WAYLAND_DISPLAY', 'XDG_RUNTIME_DIR']) if (process.env[key]) env[key] = process.env[key];
  if (process.env.XAUTHORITY && existsSync(process.env.XAUTHORITY)) {
    copyFileSync(process.env.XAUTHORITY, join(profile, 'Xauthority'));
    env.XAUTHORITY = join(profile, 'Xauthority');
  }
  if (process.getuid?.() === 0) {
    for (const path of [profile, ...(env.XAUTHORITY ? [env.XAUTHORITY] : [])]) chownSync(path, user.uid, user.gid);
  }
  // The display, as the user Chromium runs as: its size for the window, its layout for the cages
  // (the first window's only: the supervisor is started with it once).
  const display = readShellDisplay({ env, user: process.getuid?.() === 0 ? user : null });
  if (!again) displayKeyboard = display.keyboard;
  // Removed as its user when we are root: root walking a folder the user can change under it could be
  // led by a link to delete elsewhere.
  cleanups.push(() =>
    process.getuid?.() === 0
      ? spawnSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--inh-caps=-all', '--', 'rm', '-rf', '--', profile], { stdio: 'ignore' })
      : rmSync(profile, { recursive: true, force: true }),
  );
  const args = [
    `--app=file://${launch.path}`,
    `--user-data-dir=${profile}`,
    ...shellChromiumArgs({ locale }),
    // Kiosk as before; otherwise maximized, or over the whole screen where no window manager runs.
    ...shellWindowArgs({ kiosk: values.kiosk, screen: display.screen }),
  ];
  const argv = process.getuid?.() === 0
    ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--inh-caps=-all', '--', chromium, ...args]
    : [chromium, ...args];
  say(`shell: Chromium as ${user.name}, sandboxed`);
  // Its output kept (the last lines), for the message should it end by itself (shellWindowEnd.mjs).
  // Off the terminal's group, closed after the supervisor has stopped; SIGTERM when start.mjs is gone (stopOrder.mjs).
  const window = withParentDeathSignal({ command: argv[0], args: argv.slice(1) }, 'SIGTERM');
  const child = spawn(window.command, window.args, { ...OWN_GROUP, stdio: ['ignore', 'pipe', 'pipe'], env });
  const tail = outputTail([child.stdout, child.stderr]);
  let sentOn = false;
  children.add(child);
  shellWindow = child;
  child.on('exit', (code, signal) => windowClosed(child, code, signal, tail, () => sentOn));
  return {
    go: (url) => {
      launch.go(`${url}${values.kiosk ? '&kiosk=1' : ''}`);
      sentOn = true;
    },
  };
}

/**
 * The layout of the display Electron's window opens on, read as the shell's user; null with no X
 * display, or as root with no user to read as (root never runs an X client on a display a user
 * may have pointed anywhere: its replies would be parsed by a root process).
 */
function electronDisplayKeyboard() {
  if (!process.env.DISPLAY) return null;
  const user = shellUser();
  if (user.refusal) return null;
  const env = { PATH: '/usr/bin:/bin', DISPLAY: process.env.DISPLAY, HOME: user.home ?? tmpdir() };
  if (process.env.XAUTHORITY && existsSync(process.env.XAUTHORITY)) env.XAUTHORITY = process.env.XAUTHORITY;
  return readShellDisplay({ env, user: process.getuid?.() === 0 ? user : null }).keyboard;
}

/** Who Chromium runs as: never root (its sandbox would be off, and it decodes what cages send). */
function shellUser() {
  if (process.getuid?.() !== 0) {
    return { uid: process.getuid(), gid: process.getgid(), name: process.env.USER ?? String(process.getuid()), home: process.env.HOME ?? tmpdir() };
  }
  const name = values['shell-user'] ?? process.env.SUDO_USER;
  if (!name || name === 'root') {
    return { refusal: 'the browser host does not run Chromium as root: run `sudo npm start` from your own account, name one with --shell-user NAME, or use --no-window and open the address as a user' };
  }
  const entry = spawnSync('getent', ['passwd', name], { encoding: 'utf8' }).stdout.trim().split(':');
  if (entry.length < 7) return { refusal: `no account named ${name} for the browser host's Chromium` };
  const [, , uid, gid, , home] = entry;
  if (Number(uid) === 0) return { refusal: `${name} is root: the browser host does not run Chromium as root` };
  return { name, uid: Number(uid), gid: Number(gid), home };
}
