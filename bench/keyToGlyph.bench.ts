/**
 * Key to glyph: a key pressed in Chromium until the glyph appears in the cage's canvas, through
 * Cloison's gateway and through websockify, the same noVNC page and the same real cage (xterm in
 * Xvnc in bubblewrap), in the same run. Goal: Cloison no worse than websockify.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from '@playwright/test';
import { BwrapDriver, bwrapCagePaths } from '../supervisor/cages/bwrapDriver';
import { DEFAULT_CAGE_LIMITS } from '../shared/policy';
import { startCloisonGateway, startWebsockify, type Proxy } from './lib/proxies';
import { fmt, median, percentile } from './lib/stats';

/** Keys discarded while both paths warm up (the gateway is a long-running daemon: its JIT is warm). */
const WARM_UP_KEYS = 200;
/** Measured keys per path, in interleaved rounds so drift on the shared cores hits both alike. */
const ROUNDS = 5;
const KEYS_PER_ROUND = 50;

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

export async function runKeyToGlyphBench(log: (s: string) => void): Promise<Record<string, { median: number; p95: number; samples: number[] }>> {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-k2g-'));
  const driver = new BwrapDriver({
    level: 'bench',
    uid: 62970,
    cage: { driver: 'bwrap', network: 'none', geometry: '640x400', apps: [['xterm', '-geometry', '80x24+0+0', '-fa', 'DejaVu Sans Mono', '-fs', '12']], limits: DEFAULT_CAGE_LIMITS },
    paths: bwrapCagePaths(join(dir, 's'), join(dir, 'r'), 'bench'),
  });
  const cage = await driver.start();
  const server = await servePage(dir);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--no-first-run'] });
  const results: Record<string, { median: number; p95: number; samples: number[] }> = {};
  try {
    await new Promise((r) => setTimeout(r, 2000)); // let the terminal start
    // One viewer at a time on the cage (two would let Xvnc's client order favour one), each
    // round a fresh viewer, the paths taking turns; the proxies stay up (the daemon stays warm).
    const proxies: Proxy[] = [await startCloisonGateway(driver.vncSocket), await startWebsockify(driver.vncSocket)];
    const samples = new Map<string, number[]>(proxies.map((p) => [p.name, []]));
    const session = async (proxy: Proxy, keys: number): Promise<number[]> => {
      const page = await browser.newPage({ viewport: { width: 700, height: 450 } });
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/?ws=${encodeURIComponent(await proxy.url())}`);
      await page.waitForFunction('window.connected === true', null, { timeout: 20_000 });
      await page.locator('canvas').click({ position: { x: 300, y: 200 } });
      await page.waitForTimeout(300);
      for (let i = 0; i < keys; i++) {
        await page.keyboard.press(i % 2 ? 'Backspace' : 'x'); // the line changes at every key
        await page.waitForTimeout(40);
      }
      const times = (await page.evaluate('window.keyTimes')) as number[];
      await page.close();
      return times;
    };
    for (const proxy of proxies) await session(proxy, WARM_UP_KEYS);
    for (let r = 0; r < ROUNDS; r++) for (const proxy of r % 2 ? [...proxies].reverse() : proxies) samples.get(proxy.name)!.push(...(await session(proxy, KEYS_PER_ROUND)));
    for (const proxy of proxies) {
      const t = samples.get(proxy.name)!;
      results[proxy.name] = { median: median(t), p95: percentile(t, 95), samples: t };
      log(`  ${proxy.name}: key → glyph median ${fmt(median(t))} ms, p95 ${fmt(percentile(t, 95))} ms over ${t.length} keys`);
      await proxy.stop();
    }
  } finally {
    await browser.close();
    server.close();
    await cage.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
