// npm start: starts the supervisor (with its two cages) and the shell window.
// Uses Electron when its binary is installed, otherwise the browser host in Chromium --app mode,
// and says which and why. Ctrl+C stops everything it started, cages included.
//
//   npm start [-- --policy FILE] [-- --no-window] [-- --kiosk]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    policy: { type: 'string' },
    'no-window': { type: 'boolean', default: false },
    kiosk: { type: 'boolean', default: false },
    port: { type: 'string' },
    'state-dir': { type: 'string' },
    'run-dir': { type: 'string' },
  },
  strict: true,
});

const say = (msg) => process.stdout.write(`cloison: ${msg}\n`);
const root = new URL('..', import.meta.url).pathname;

if (!existsSync(join(root, 'out/supervisor/main.js')) || !existsSync(join(root, 'out/renderer/index.html'))) {
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
let stopping = false;
function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  const wait = setInterval(() => {
    if ([...children].every((c) => c.exitCode !== null || c.signalCode !== null)) {
      clearInterval(wait);
      process.exit(code);
    }
  }, 50);
  setTimeout(() => {
    for (const child of children) child.kill('SIGKILL');
    process.exit(code);
  }, 8000).unref();
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

const supervisorArgs = [join(root, 'out/supervisor/main.js'), '--allow-origin', 'app://cloison'];
if (values.policy) supervisorArgs.push('--policy', values.policy);
if (values.port) supervisorArgs.push('--port', values.port);
if (values['state-dir']) supervisorArgs.push('--state-dir', values['state-dir']);
if (values['run-dir']) supervisorArgs.push('--run-dir', values['run-dir']);
const supervisor = spawn(process.execPath, supervisorArgs, {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { CLOISON_LOG_LEVEL: 'warn', ...process.env },
});
children.add(supervisor);
supervisor.on('exit', (code) => {
  if (!stopping) say(`supervisor exited (${code}); stopping`);
  stopAll(code ?? 1);
});

const ready = await new Promise((resolve) => {
  const lines = createInterface({ input: supervisor.stdout });
  lines.once('line', (line) => {
    try {
      resolve(JSON.parse(line));
    } catch {
      resolve(null);
    }
  });
});
if (!ready?.ready) {
  say('supervisor did not start');
  stopAll(1);
} else {
  for (const cage of ready.cages) say(`cage ${cage.level}: ${cage.status}${cage.detail ? ` (${cage.detail})` : ''}`);
  openWindow(ready);
}

function openWindow(ready) {
  if (values['no-window']) {
    say(`no window: the shell is at ${ready.url}`);
    return;
  }
  const electron = findElectron();
  if (electron.path) {
    say('host: Electron');
    const child = spawn(electron.path, [join(root, 'out/electron/main.cjs')], {
      stdio: 'inherit',
      env: { ...process.env, CLOISON_RPC_SOCKET: ready.rpcSocket, CLOISON_GATEWAY_ORIGIN: ready.origin, CLOISON_KIOSK: values.kiosk ? '1' : '0' },
    });
    children.add(child);
    child.on('exit', () => stopAll(0));
    return;
  }
  say(`host: browser (Chromium --app), because ${electron.reason}`);
  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
  if (!chromium) {
    say(`no Chromium found (install chromium): open ${ready.url} in a Chromium-based browser`);
    return;
  }
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    say(`no display to open a window on: open ${ready.url} from a desktop session, or use --no-window`);
    return;
  }
  const profile = mkdtempSync(join(tmpdir(), 'cloison-shell-'));
  const args = [
    `--app=${ready.url}${values.kiosk ? '&kiosk=1' : ''}`,
    `--user-data-dir=${profile}`,
    '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ...(values.kiosk ? ['--kiosk'] : []),
    // Chromium refuses to start as root with its sandbox on; say so rather than hide it.
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
  ];
  const child = spawn(chromium, args, { stdio: 'ignore' });
  children.add(child);
  child.on('exit', () => {
    rmSync(profile, { recursive: true, force: true });
    stopAll(0);
  });
}
