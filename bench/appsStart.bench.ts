/**
 * Start → both cages painted with the default applications: `npm start` with the default policy
 * (Firefox ESR autostarted in low, LibreOffice Writer in high; 256 MiB homes), the shell in
 * Chromium with npm start's flags, until each level's viewer shows its application's window.
 *
 * "Painted", measured the same way on both sides: at least 30 % of the screen light (channels
 * summing over 400) — Firefox's chrome and page, Writer's page and toolbars — read in the shell
 * from each viewer's noVNC canvas (the framebuffer as the gateway delivered it), in the reference
 * from the X server's own framebuffer (xwd). A black window, the desktop's muted tone or a splash
 * screen does not reach it.
 *
 * References in the same run: two bare Xvnc answering RFB (the floor of any VNC desktop), and two
 * bare Xvnc with the same two applications started directly on them (no sandbox, no supervisor,
 * no shell, no window manager).
 *
 * Every run is a first start, on new homes (Cloison's 256 MiB images made, the applications'
 * profiles made) on both sides: a start on the homes of an earlier one does not paint Writer, whose
 * process was killed with its cage and opens LibreOffice's Document Recovery dialog instead (the
 * README's "not yet done"; quitting it with Ctrl+Q through the shell first did not reach it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { probeRfb } from '../supervisor/cages/rfbProbe';
import { testRoot } from '../supervisor/testing/realCage';
import { machineBusyMs } from './lib/processCpu';
import { LIGHT_SUM, PAINTED_SHARE, benchPolicy, openShellSession, waitPainted } from './lib/shellSession';
import { fmt, median } from './lib/stats';

const RUNS = 3;
const LIMIT_MS = 180_000;
const GEOMETRY = '1280x768';
/** How often each side looks at its screens (both take a little CPU from the start they measure). */
const POLL_MS = 100;
/** The applications the default policy autostarts, as the reference starts them. */
const APPS = { low: ['firefox-esr'], high: ['libreoffice', '--writer'] };
/** The bare reference's applications run as nobody, as a cage's run as its own uid. */
const NOBODY = 65534;

export interface AppsStartResult {
  /** Start → both levels' viewers showing their application, ms, each run (the first: homes made). */
  cloisonMs: number[];
  /** Per run: when each level painted and when the supervisor listened, ms from the start. */
  phases: Array<Record<string, number>>;
  bareXvncMs: number[];
  bareAppsMs: number[];
  busyShare: number[];
}

async function cloisonOnce(root: string, policy: string): Promise<{ ms: number; phases: Record<string, number>; busy: number }> {
  const busy0 = machineBusyMs();
  const session = await openShellSession(root, policy);
  try {
    const phases: Record<string, number> = { 'supervisor listening': session.listeningMs, ...(await waitPainted(session.page, session.t0, LIMIT_MS, POLL_MS)) };
    const ms = Math.max(phases['low painted']!, phases['high painted']!);
    return { ms, phases, busy: (machineBusyMs() - busy0) / (cpus().length * ms) };
  } finally {
    await session.close();
  }
}

function startXvnc(root: string, i: number): { server: ChildProcess; socket: string; display: Promise<string> } {
  const socket = join(root, `vnc${i}.sock`);
  const server = spawn('Xvnc', ['-displayfd', '3', '-rfbunixpath', socket, '-rfbport', '-1', '-SecurityTypes', 'None', '-nolisten', 'tcp', '-geometry', GEOMETRY, '-depth', '24'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const display = new Promise<string>((resolve) => createInterface({ input: server.stdio[3] as NodeJS.ReadableStream }).once('line', (n) => resolve(`:${n.trim()}`)));
  return { server, socket, display };
}

async function answering(socket: string): Promise<void> {
  for (;;) {
    try {
      await probeRfb({ path: socket }, 500);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * The light share of a display's root window as the X server holds it (xwd), sampled every 8th
 * pixel. xwd writes 32 or 24 bits a pixel (the latter seen while an application maps its window).
 */
function lightShareOf(display: string): number {
  const xwd = spawnSync('xwd', ['-root', '-silent', '-display', display], { maxBuffer: 64 * 2 ** 20 });
  if (xwd.status !== 0) return 0;
  const b = xwd.stdout;
  const field = (i: number) => b.readUInt32BE(i * 4);
  const [width, height, byteOrder, bitsPerPixel, bytesPerLine, ncolors] = [field(4), field(5), field(7), field(11), field(12), field(19)];
  if (bitsPerPixel !== 32 && bitsPerPixel !== 24) throw new Error(`xwd of ${display}: ${bitsPerPixel} bits a pixel, 24 or 32 expected`);
  const masks = [field(14), field(15), field(16)];
  const data = field(0) + ncolors * 12;
  const shift = (mask: number) => 31 - Math.clz32(mask & -mask);
  let light = 0;
  let all = 0;
  for (let y = 0; y < height; y += 8) {
    for (let x = 0; x < width; x += 8) {
      const at = data + y * bytesPerLine + (x * bitsPerPixel) / 8;
      const p = bitsPerPixel === 32 ? (byteOrder === 0 ? b.readUInt32LE(at) : b.readUInt32BE(at)) : byteOrder === 0 ? b.readUIntLE(at, 3) : b.readUIntBE(at, 3);
      all++;
      if (masks.reduce((sum, m) => sum + ((p & m) >>> shift(m)), 0) > LIGHT_SUM) light++;
    }
  }
  return light / all;
}

/** Two bare Xvnc, and (withApps) the two applications on them, until each screen is painted. */
async function bareOnce(root: string, homes: string, withApps: boolean): Promise<number> {
  const t0 = Date.now();
  const servers = [0, 1].map((i) => startXvnc(root, i));
  const apps: ChildProcess[] = [];
  let ended = false;
  try {
    if (!withApps) {
      await Promise.all(servers.map((s) => answering(s.socket)));
      return Date.now() - t0;
    }
    await Promise.all(
      [APPS.low, APPS.high].map(async (argv, i) => {
        const display = await servers[i]!.display;
        const home = join(homes, String(i));
        apps.push(spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH, HOME: home, USER: 'nobody', LANG: 'fr_FR.UTF-8', DISPLAY: display }, uid: NOBODY, gid: NOBODY, stdio: 'ignore', detached: true }));
        for (const deadline = t0 + LIMIT_MS; lightShareOf(display) < PAINTED_SHARE; await new Promise((r) => setTimeout(r, POLL_MS))) {
          if (ended) return;
          if (Date.now() > deadline) throw new Error(`bare ${argv[0]} did not paint within ${LIMIT_MS / 1000} s`);
        }
      }),
    );
    return Date.now() - t0;
  } finally {
    ended = true;
    for (const app of apps) {
      try {
        process.kill(-app.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const s of servers) s.server.kill('SIGTERM');
    await Promise.all(servers.map((s) => new Promise((r) => (s.server.exitCode !== null ? r(null) : s.server.once('exit', r)))));
  }
}

export async function runAppsStartBench(log: (s: string) => void): Promise<AppsStartResult> {
  const result: AppsStartResult = { cloisonMs: [], phases: [], bareXvncMs: [], bareAppsMs: [], busyShare: [] };
  const root = testRoot('cloison-bench-apps-');
  try {
    // The reference's applications run as nobody: they must reach their homes inside the root.
    chmodSync(root, 0o711);
    for (let i = 0; i < RUNS; i++) {
      const run = join(root, `run${i}`);
      for (const j of [0, 1]) {
        mkdirSync(join(run, 'bare-homes', String(j)), { recursive: true });
        chownSync(join(run, 'bare-homes', String(j)), NOBODY, NOBODY);
      }
      chmodSync(run, 0o711);
      const c = await cloisonOnce(run, benchPolicy(run));
      result.cloisonMs.push(c.ms);
      result.phases.push(c.phases);
      result.busyShare.push(c.busy);
      result.bareAppsMs.push(await bareOnce(run, join(run, 'bare-homes'), true));
      result.bareXvncMs.push(await bareOnce(run, join(run, 'bare-homes'), false));
      log(`  run ${i + 1}: cloison ${c.ms} ms (${Object.entries(c.phases).map(([k, v]) => `${k} ${v}`).join(', ')}), bare Xvnc + applications ${result.bareAppsMs[i]} ms, bare Xvnc ${result.bareXvncMs[i]} ms`);
    }
    const c = median(result.cloisonMs);
    log(`  npm start → Firefox painted in low and Writer in high, seen in the shell: median ${fmt(c / 1000, 2)} s (goal ≤ 2.0 s: ${c <= 2000 ? 'met' : `not met, ${fmt(c / 2000, 2)}× the goal`})`);
    log(`  two bare Xvnc answering RFB: median ${fmt(median(result.bareXvncMs) / 1000, 2)} s; two bare Xvnc with the same applications painted: median ${fmt(median(result.bareAppsMs) / 1000, 2)} s`);
    log(`  the machine's cores were busy ${fmt(100 * median(result.busyShare), 0)} % of Cloison's starts (median; 2 cores)`);
    return result;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
