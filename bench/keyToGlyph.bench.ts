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
import { startCloisonGateway, startWebsockify } from './lib/proxies';
import { fmt, median, percentile } from './lib/stats';

const KEYS = 220; // the first 20 warm up

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
    cage: { driver: 'bwrap', network: 'none', geometry: '640x400', apps: [['xterm', '-geometry', '80x24+0+0', '-fa', 'DejaVu Sans Mono', '-fs', '12']] },
    paths: bwrapCagePaths(join(dir, 's'), join(dir, 'r'), 'bench'),
  });
  const cage = await driver.start();
  const server = await servePage(dir);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--no-first-run'] });
  const results: Record<string, { median: number; p95: number; samples: number[] }> = {};
  try {
    await new Promise((r) => setTimeout(r, 2000)); // let the terminal start
    for (const start of [startCloisonGateway, startWebsockify]) {
      const proxy = await start(driver.vncSocket);
      const page = await browser.newPage({ viewport: { width: 700, height: 450 } });
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/?ws=${encodeURIComponent(await proxy.url())}`);
      await page.waitForFunction('window.connected === true', null, { timeout: 20_000 });
      await page.locator('canvas').click({ position: { x: 300, y: 200 } });
      await page.waitForTimeout(500);
      for (let i = 0; i < KEYS; i++) {
        await page.keyboard.press(i % 2 ? 'Backspace' : 'x'); // the line changes at every key
        await page.waitForTimeout(40);
      }
      const samples = ((await page.evaluate('window.keyTimes')) as number[]).slice(20);
      results[proxy.name] = { median: median(samples), p95: percentile(samples, 95), samples };
      log(`  ${proxy.name}: key → glyph median ${fmt(median(samples))} ms, p95 ${fmt(percentile(samples, 95))} ms over ${samples.length} keys`);
      await page.close();
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
