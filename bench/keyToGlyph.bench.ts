/**
 * Key to glyph: a key pressed in Chromium until the glyph appears in the cage's canvas, through
 * Cloison's gateway and through websockify — the same noVNC page, the same real cage (xterm in
 * Xvnc in bubblewrap) — and the floor: the same xterm on a plain Xvfb, keyed with XTest and read
 * back the same way. With the CPU each path spends per key and at idle (cage, proxy and browser
 * together), because a faster figure that burns a core at idle is not a win.
 * `--levers`: the gateway path again with other Xvnc update clocks, each in a cage of its own.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from '@playwright/test';
import { BwrapDriver, bwrapCagePaths, XVNC_UPDATES } from '../supervisor/cages/bwrapDriver';
import { DEFAULT_CAGE_LIMITS } from '../shared/policy';
import { startCloisonGateway, startWebsockify, type Proxy } from './lib/proxies';
import { cpuSecondsOfTree, treeRootWith } from './lib/processCpu';
import { fmt, median, percentile } from './lib/stats';
import { startFloor } from './keyToGlyph/floor';
import { launchShellBrowser, startHostDisplay, type ShellBrowser } from '../e2e/support/hostDisplay';

/** Keys discarded while the paths warm up (the gateway is a long-running daemon: its JIT is warm). */
const WARM_UP_KEYS = 200;
/** Measured keys per path, in interleaved rounds so drift on the shared cores hits all alike. */
const ROUNDS = 5;
const KEYS_PER_ROUND = 50;
const IDLE_SECONDS = 5;
const XTERM = ['-geometry', '80x24+0+0', '-fa', 'DejaVu Sans Mono', '-fs', '12'];
/** Xvnc update clocks compared with `--levers` (the shipped one is measured anyway). */
const LEVERS: Record<string, string[]> = {
  'FrameRate 120': ['-FrameRate', '120'],
  'FrameRate 240': ['-FrameRate', '240'],
  'FrameRate 1000': ['-FrameRate', '1000'],
  'FrameRate 240, CompareFB 0': ['-FrameRate', '240', '-CompareFB', '0'],
};

export interface PathFigures {
  median: number;
  p95: number;
  samples: number[];
  /** CPU milliseconds per key, all the path's processes together. */
  cpuMsPerKey: number;
  /** CPU at idle with the viewer open, percent of one core. */
  idleCpuPercent: number;
}

async function servePage(dir: string): Promise<Server> {
  await build({ entryPoints: [fileURLToPath(new URL('./keyToGlyph/page.ts', import.meta.url))], bundle: true, format: 'esm', target: 'esnext', outfile: join(dir, 'page.js'), logLevel: 'error' });
  const html = '<!doctype html><meta charset="utf-8"><body style="margin:0"><div id="screen"></div><script type="module" src="page.js"></script>';
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/page.js')) res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(readFileSync(join(dir, 'page.js')));
    else res.writeHead(200, { 'Content-Type': 'text/html' }).end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

interface Measured {
  times: number[];
  cpuSeconds: number;
  idleCpuSeconds: number;
}

/** A cage viewed through proxies; each session a fresh viewer that types `keys` keys. */
class ViewedCage {
  private constructor(
    private readonly innerPid: number,
    private readonly stopCage: () => Promise<void>,
    readonly proxies: Proxy[],
  ) {}

  static async start(dir: string, name: string, uid: number, xvncUpdates: string[], withWebsockify: boolean): Promise<ViewedCage> {
    const driver = new BwrapDriver({
      level: name,
      uid,
      cage: { driver: 'bwrap', network: 'none', geometry: '640x400', apps: [{ id: 'xterm', exec: ['xterm', ...XTERM], autostart: true }], limits: DEFAULT_CAGE_LIMITS },
      paths: bwrapCagePaths(join(dir, name, 's'), join(dir, name, 'r'), name),
      xvncUpdates,
    });
    const cage = await driver.start();
    await new Promise((r) => setTimeout(r, 2000)); // let the terminal start
    const proxies = [await startCloisonGateway(driver.vncSocket)];
    if (withWebsockify) proxies.push(await startWebsockify(driver.vncSocket));
    return new ViewedCage(cage.innerPid!, () => cage.stop(), proxies);
  }

  async session(browser: Browser, marker: string, pageUrl: string, proxy: Proxy, keys: number, idle = false): Promise<Measured> {
    const page = await browser.newPage({ viewport: { width: 700, height: 450 } });
    const decode = process.env.BENCH_DECODE ? `&decode=${encodeURIComponent(process.env.BENCH_DECODE)}` : '';
    await page.goto(`${pageUrl}?ws=${encodeURIComponent(await proxy.url())}${decode}`);
    await page.waitForFunction('window.connected === true', null, { timeout: 20_000 });
    await page.locator('canvas').click({ position: { x: 300, y: 200 } });
    await page.waitForTimeout(300);
    const cpu = () => cpuSecondsOfTree(this.innerPid) + cpuSecondsOfTree(proxy.pid) + cpuSecondsOfTree(treeRootWith(marker)!);
    let idleCpuSeconds = 0;
    if (idle) {
      const before = cpu();
      await page.waitForTimeout(IDLE_SECONDS * 1000);
      idleCpuSeconds = cpu() - before;
    }
    const before = cpu();
    for (let i = 0; i < keys; i++) {
      await page.keyboard.press(i % 2 ? 'Backspace' : 'x'); // the line changes at every key
      await page.waitForTimeout(40);
    }
    const cpuSeconds = cpu() - before;
    const times = (await page.evaluate('window.keyTimes')) as number[];
    await page.close();
    return { times, cpuSeconds, idleCpuSeconds };
  }

  async stop(): Promise<void> {
    for (const p of this.proxies) await p.stop();
    await this.stopCage();
  }
}

function figures(runs: Measured[]): PathFigures {
  const samples = runs.flatMap((r) => r.times);
  const keys = samples.length;
  const idle = runs.filter((r) => r.idleCpuSeconds > 0);
  return {
    median: median(samples),
    p95: percentile(samples, 95),
    samples,
    cpuMsPerKey: (runs.reduce((s, r) => s + r.cpuSeconds, 0) * 1000) / keys,
    idleCpuPercent: idle.length ? (idle.reduce((s, r) => s + r.idleCpuSeconds, 0) / (idle.length * IDLE_SECONDS)) * 100 : NaN,
  };
}

export async function runKeyToGlyphBench(log: (s: string) => void, options: { levers?: boolean } = {}): Promise<Record<string, PathFigures>> {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-k2g-'));
  const server = await servePage(dir);
  const pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const marker = `--cloison-k2g-${process.pid}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--no-first-run', marker] });
  const floor = await startFloor(XTERM);
  const cages: ViewedCage[] = [];
  const results: Record<string, PathFigures> = {};
  try {
    cages.push(await ViewedCage.start(dir, 'shipped', 59970, XVNC_UPDATES, true));
    if (options.levers) for (const [i, args] of Object.values(LEVERS).entries()) cages.push(await ViewedCage.start(dir, `lever${i}`, 59971 + i, args, false));
    const paths = cages.flatMap((cage, i) => cage.proxies.map((proxy) => ({ name: i === 0 ? proxy.name : `cloison, ${Object.keys(LEVERS)[i - 1]}`, cage, proxy })));
    const runs = new Map<string, Measured[]>([['floor', []], ...paths.map((p) => [p.name, []] as [string, Measured[]])]);
    const floorRun = async (keys: number): Promise<Measured> => ({ times: await floor.type(keys), cpuSeconds: 0, idleCpuSeconds: 0 });
    for (const p of paths) await p.cage.session(browser, marker, pageUrl, p.proxy, WARM_UP_KEYS);
    await floorRun(WARM_UP_KEYS);
    for (let r = 0; r < ROUNDS; r++) {
      for (const p of r % 2 ? [...paths].reverse() : paths) runs.get(p.name)!.push(await p.cage.session(browser, marker, pageUrl, p.proxy, KEYS_PER_ROUND, r === 0));
      runs.get('floor')!.push(await floorRun(KEYS_PER_ROUND));
    }
    for (const [name, measured] of runs) {
      const f = figures(measured);
      results[name] = f;
      const cpu = name === 'floor' ? '' : `; CPU ${fmt(f.cpuMsPerKey)} ms per key, ${fmt(f.idleCpuPercent, 1)} % of a core at idle`;
      log(`  ${name}: key → glyph median ${fmt(f.median)} ms, p95 ${fmt(f.p95)} ms over ${f.samples.length} keys${cpu}`);
    }
  } finally {
    await browser.close();
    server.close();
    await floor.stop();
    for (const cage of cages) await cage.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

export interface ComposedFigures {
  plain: PathFigures;
  composed: PathFigures;
}

/** Keys per session of the composed-key bench (each a letter, then Backspace). */
const COMPOSED_KEYS = 40;

/**
 * A composed character against a plain letter, as a French user types them: real key events from
 * an X display with the fr layout (xdotool), the shell's Chromium headful on it, the page's input
 * surface and dead-key composer before noVNC, the gateway, a real cage. Plain: x then Backspace;
 * composed: ^ then e (ê) then Backspace, timed from the e's keydown, the one that makes ê.
 */
export async function runComposedKeyBench(log: (s: string) => void): Promise<ComposedFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-k2g-c-'));
  const server = await servePage(dir);
  const display = await startHostDisplay({ layout: 'fr', width: 900, height: 600 });
  let cage: ViewedCage | null = null;
  let shell: ShellBrowser | null = null;
  try {
    cage = await ViewedCage.start(dir, 'composed', 59969, XVNC_UPDATES, false);
    const pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/?surface=1`;
    const runs: Record<'plain' | 'composed', number[]> = { plain: [], composed: [] };
    shell = await launchShellBrowser(display, { url: 'data:text/html,', width: 700, height: 450, user: null });
    const { page } = shell;
    // One connection for every round (the gateway limits how often a viewer may connect).
    await page.goto(`${pageUrl}&ws=${encodeURIComponent(await cage.proxies[0]!.url())}`);
    await page.waitForFunction('window.connected === true', null, { timeout: 20_000 });
    await page.waitForTimeout(300);
    const centre = await shell.screenPoint(300, 200);
    await display.click(centre.x, centre.y);
    const type = async (keys: string[], warm: boolean) => {
      const from = (await page.evaluate('window.keyTimes.length')) as number;
      await display.xdotool('key', '--delay', '60', ...keys);
      await page.waitForTimeout(500);
      if (warm) return;
      const times = ((await page.evaluate('window.keyTimes')) as number[]).slice(from);
      const names = ((await page.evaluate('window.keyNames')) as string[]).slice(from);
      times.forEach((ms, i) => {
        if (names[i] === 'x') runs.plain.push(ms);
        if (names[i] === 'e') runs.composed.push(ms);
      });
    };
    const plainKeys = Array.from({ length: COMPOSED_KEYS }, (_, i) => (i % 2 ? 'BackSpace' : 'x'));
    const composedKeys = Array.from({ length: COMPOSED_KEYS / 2 }, () => ['dead_circumflex', 'e', 'BackSpace']).flat();
    await type(plainKeys, true);
    for (let r = 0; r < ROUNDS; r++) {
      for (const keys of r % 2 ? [composedKeys, plainKeys] : [plainKeys, composedKeys]) await type(keys, false);
    }
    const plain = figures([{ times: runs.plain, cpuSeconds: 0, idleCpuSeconds: 0 }]);
    const composed = figures([{ times: runs.composed, cpuSeconds: 0, idleCpuSeconds: 0 }]);
    log(`  plain letter (x) on an fr keyboard, real X events: key → glyph median ${fmt(plain.median)} ms, p95 ${fmt(plain.p95)} ms over ${plain.samples.length} keys`);
    log(`  composed (^ then e → ê), timed from the e: median ${fmt(composed.median)} ms, p95 ${fmt(composed.p95)} ms over ${composed.samples.length} keys; ratio ${fmt(composed.median / plain.median)} (≤ 1.1)`);
    return { plain, composed };
  } finally {
    await shell?.close();
    server.close();
    await cage?.stop();
    await display.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
