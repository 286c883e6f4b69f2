/**
 * Motion: a cage whose whole screen keeps moving (a full-screen xterm scrolling a long text) shown
 * in the shell — the real supervisor, its gateway and renderer in Chromium — and, in the same run,
 * in TigerVNC's own `vncviewer` on the same display server. Frames are counted where both are
 * alike: Xvnc's own count of the updates it sent each viewer (logged when the viewer leaves);
 * CPU is the viewer side's (the shell: supervisor and Chromium; the reference: vncviewer), per
 * frame, with Xvnc's beside it. Goal: ≥ 0.9× vncviewer's frames per second at ≤ 1.2× its CPU.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from '@playwright/test';
import { XVNC_UPDATES } from '../supervisor/cages/bwrapDriver';
import { probeRfb } from '../supervisor/cages/rfbProbe';
import { cpuSecondsByProcess, cpuSecondsOfTree, processes, treeRootWith } from './lib/processCpu';
import { fmt, median } from './lib/stats';

const GEOMETRY = { width: 1024, height: 640 };
const SECONDS = 15;
const RUNS = 3;

export interface MotionFigures {
  fps: number[];
  /** Viewer-side CPU milliseconds per frame. */
  cpuMsPerFrame: number[];
  /** Xvnc's CPU milliseconds per frame sent to this viewer. */
  serverCpuMsPerFrame: number[];
  /** Viewer-side CPU milliseconds per frame by process, each run. */
  perFrame: Array<Record<string, number>>;
}

/** Xvnc with the moving screen, its log read for "Framebuffer updates: N" at each viewer's leaving. */
class MovingCage {
  private readonly updateCounts: number[] = [];
  private constructor(
    readonly socket: string,
    readonly xvnc: ChildProcess,
    private readonly scene: MovingScene,
  ) {
    createInterface({ input: xvnc.stderr! }).on('line', (line) => {
      const m = /Framebuffer updates: (\d+)/.exec(line);
      if (!m) return;
      this.updateCounts.push(Number(m[1]));
    });
  }

  static async start(dir: string, xvncUpdates: string[], scene: MotionScene = scrollingTerminal): Promise<MovingCage> {
    const socket = join(dir, 'vnc.sock');
    const xvnc = spawn('Xvnc', ['-displayfd', '3', '-rfbunixpath', socket, '-rfbport', '-1', '-SecurityTypes', 'None', '-nolisten', 'tcp', '-geometry', `${GEOMETRY.width}x${GEOMETRY.height}`, '-depth', '24', '-AlwaysShared', ...xvncUpdates], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    const display = await new Promise<string>((resolve) => createInterface({ input: xvnc.stdio[3] as NodeJS.ReadableStream }).once('line', (n) => resolve(`:${n.trim()}`)));
    for (let i = 0; i < 100; i++) {
      try {
        await probeRfb({ path: socket }, 500);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return new MovingCage(socket, xvnc, await scene(dir, display));
  }

  /** How many counts Xvnc has logged so far (each viewer's, when it leaves). */
  get logged(): number {
    return this.updateCounts.length;
  }

  /**
   * The update count of a viewer that connected after `from` counts and left after `before`: the
   * largest logged since `from` (the supervisor's own endpoint probes also connect, and get none).
   */
  async countSince(from: number, before: number): Promise<number> {
    // A viewer that left before its time had its count logged already: wait 10 s at most for another.
    for (const deadline = Date.now() + 10_000; this.updateCounts.length <= before && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    if (this.updateCounts.length <= from) throw new Error('Xvnc logged no update count for this viewer (it never connected?)');
    return Math.max(...this.updateCounts.slice(from));
  }

  cpuSeconds(): number {
    return cpuSecondsOfTree(this.xvnc.pid!);
  }

  async stop(): Promise<void> {
    await this.scene.stop();
    this.xvnc.kill('SIGTERM');
    await new Promise((r) => this.xvnc.once('exit', r));
  }
}

/** What keeps the screen moving: started on the display, stopped at the end. */
export const emptyMotionFigures = (): MotionFigures => ({ fps: [], cpuMsPerFrame: [], serverCpuMsPerFrame: [], perFrame: [] });

/** Each side's medians over its runs, and the last run's cost per frame by process. */
export function logMotionFigures(result: Record<string, MotionFigures>, log: (line: string) => void): void {
  for (const [name, f] of Object.entries(result)) {
    log(`  ${name}: ${fmt(median(f.fps), 1)} frames/s (runs ${f.fps.map((v) => fmt(v, 1)).join(', ')}), viewer CPU ${fmt(median(f.cpuMsPerFrame))} ms per frame, Xvnc ${fmt(median(f.serverCpuMsPerFrame))} ms per frame`);
    const parts = f.perFrame.at(-1) ?? {};
    if (Object.keys(parts).length) log(`    last run, ms per frame: ${Object.entries(parts).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  }
}

export interface MovingScene {
  stop(): Promise<void> | void;
}
export type MotionScene = (dir: string, display: string) => Promise<MovingScene>;

/** The whole screen scrolls: a terminal as large as the screen printing a long text without end. */
async function scrollingTerminal(dir: string, display: string): Promise<MovingScene> {
  const text = join(dir, 'text');
  writeFileSync(text, Array.from({ length: 2000 }, (_, i) => `${String(i).padStart(5)}  ${'Cloison — deux niveaux, une frontière. '.repeat(3)}`).join('\n'));
  const terminal = spawn('xterm', ['-geometry', '170x49+0+0', '-e', 'sh', '-c', `while :; do cat ${text}; done`], { env: { ...process.env, DISPLAY: display }, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1500));
  return { stop: () => void terminal.kill('SIGTERM') };
}

interface Sample {
  fps: number;
  cpuMsPerFrame: number;
  serverCpuMsPerFrame: number;
  /** Viewer-side CPU milliseconds per frame, process by process. */
  perFrame: Record<string, number>;
}

/** One viewing: `viewerCpu` read as the viewer connects and as it leaves, Xvnc's count of what it sent. */
async function view(cage: MovingCage, open: () => Promise<{ cpu: () => number; breakdown?: () => Record<string, number>; close: () => Promise<void> }>): Promise<Sample> {
  const from = cage.logged;
  const viewer = await open();
  const t0 = Date.now();
  const cpu0 = viewer.cpu();
  const parts0 = viewer.breakdown?.() ?? {};
  const server0 = cage.cpuSeconds();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const cpu = viewer.cpu() - cpu0;
  const parts = Object.fromEntries(Object.entries(viewer.breakdown?.() ?? {}).map(([k, v]) => [k, v - (parts0[k] ?? 0)]));
  const server = cage.cpuSeconds() - server0;
  const before = cage.logged;
  await viewer.close();
  const seconds = (Date.now() - t0) / 1000;
  const frames = await cage.countSince(from, before);
  const perFrame = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, (v * 1000) / frames]));
  return { fps: frames / seconds, cpuMsPerFrame: (cpu * 1000) / frames, serverCpuMsPerFrame: (server * 1000) / frames, perFrame };
}

/** The real shell's supervisor (`npm start -- --no-window`) on a policy whose one level is the moving cage. */
async function startShell(dir: string, socket: string): Promise<{ url: string; supervisorPid: number; stop: () => Promise<void> }> {
  const policy = join(dir, 'policy.yaml');
  mkdirSync(dir, { recursive: true });
  writeFileSync(policy, `version: 1\nlevels:\n  - id: low\n    rank: 0\n    label: { fr: Bas, en: Low }\n    colour: "#1b7f3b"\n    cage: { driver: vnc, endpoint: { socket: ${socket} } }\n`);
  const start = spawn(process.execPath, ['scripts/start.mjs', '--no-window', '--policy', policy, '--state-dir', join(dir, 's'), '--run-dir', join(dir, 'r')], { stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise<string>((resolve) =>
    createInterface({ input: start.stdout! }).on('line', (l) => {
      const m = /the shell is at (\S+)/.exec(l);
      if (m) resolve(m[1]!);
    }),
  );
  const supervisor = processes().find((p) => p.ppid === start.pid && p.cmd.includes('supervisor/main.js'));
  if (!supervisor) throw new Error('no supervisor under npm start');
  return {
    url,
    supervisorPid: supervisor.pid,
    stop: async () => {
      start.kill('SIGINT');
      await new Promise((r) => start.once('exit', r));
    },
  };
}

export async function runMotionBench(log: (s: string) => void, options: { xvncUpdates?: string[]; scene?: MotionScene; headful?: boolean } = {}): Promise<{ shell: MotionFigures; vncviewer: MotionFigures }> {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-motion-'));
  const cage = await MovingCage.start(dir, options.xvncUpdates ?? XVNC_UPDATES, options.scene);
  const result = { shell: emptyMotionFigures(), vncviewer: emptyMotionFigures() };
  const add = (into: MotionFigures, s: Sample) => {
    into.fps.push(s.fps);
    into.cpuMsPerFrame.push(s.cpuMsPerFrame);
    into.serverCpuMsPerFrame.push(s.serverCpuMsPerFrame);
    into.perFrame.push(s.perFrame);
  };
  try {
    for (let run = 0; run < RUNS; run++) {
      // The shell: a fresh supervisor and Chromium each run (one launch address per start).
      const shell = await startShell(join(dir, `shell${run}`), cage.socket);
      const marker = `--cloison-motion-${process.pid}-${run}`;
      const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: !options.headful, args: ['--no-sandbox', '--disable-background-networking', '--no-first-run', marker] });
      try {
        add(
          result.shell,
          await view(cage, async () => {
            const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
            await page.goto(shell.url);
            await page.locator('[data-testid=cage-frame-low][data-viewer=connected]').waitFor({ timeout: 30_000 });
            return {
              cpu: () => cpuSecondsOfTree(treeRootWith(marker)!) + cpuSecondsOfTree(shell.supervisorPid),
              breakdown: () => ({ supervisor: cpuSecondsOfTree(shell.supervisorPid), ...cpuSecondsByProcess(treeRootWith(marker)!) }),
              close: () => page.close(),
            };
          }),
        );
      } finally {
        await browser.close();
        await shell.stop();
      }
      add(
        result.vncviewer,
        await view(cage, async () => {
          // Timed from its start: its connection and first frames are inside the measured time.
          const viewer = spawn('vncviewer', ['-Shared', '-RemoteResize=0', cage.socket], { stdio: ['ignore', 'ignore', 'pipe'] });
          let said = '';
          viewer.stderr!.on('data', (d: Buffer) => (said = (said + d.toString()).slice(-2000)));
          return {
            cpu: () => cpuSecondsOfTree(viewer.pid!),
            close: async () => {
              if (viewer.exitCode !== null) log(`  vncviewer ended before its time (code ${viewer.exitCode}): ${said.trim().split('\n').slice(-4).join(' | ')}`);
              viewer.kill('SIGTERM');
              await new Promise((r) => (viewer.exitCode !== null || viewer.signalCode !== null ? r(null) : viewer.once('exit', r)));
            },
          };
        }),
      );
    }
  } finally {
    await cage.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  logMotionFigures(result, log);
  return result;
}
