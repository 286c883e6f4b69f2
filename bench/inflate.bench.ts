/**
 * Tight's inflate in Chromium, the viewer's (renderer/viewer/tightInflator.ts: fflate's inflate
 * bounded by the rectangle) against noVNC's own (pako's zlib port), on the same recorded
 * rectangles: Firefox scrolling the scroll benchmark's page on a bare Xvnc, read by a client
 * asking what the shell's viewer asks (bench/lib/tightRecording.ts). Each round replays the whole
 * recording through four inflators of each kind (the control byte's resets applied), the two kinds
 * alternated and their order swapped every round; ms per update is the replay's time over the
 * updates recorded, and the CPU time of the browser's processes over it (less hurt by a loaded
 * machine than the time: a replay waiting for a core counts none). Every byte inflated by one is
 * checked against the other's first.
 *
 * `INFLATE_RECORDING=file` replays a recording made before (and writes one there when absent).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium } from '@playwright/test';
import { decodeRecords, encodeRecords, recordTightScroll } from './lib/tightRecording';
import { fmt, median } from './lib/stats';
import { cpuSecondsOfTree, treeRootWith } from './lib/processCpu';

const RECORD_SECONDS = 10;
const ROUNDS = 8;
const ROOT = join(import.meta.dirname, '..');

function longPage(): string {
  const rows = Array.from({ length: 3000 }, (_, i) => `<p><span style="background:hsl(${(i * 37) % 360} 60% 70%)">${String(i).padStart(4, '0')}</span> Cloison — deux niveaux, une frontière. Le défilement d’une longue page locale, sans réseau.</p>`);
  return `<!doctype html><meta charset="utf-8"><title>Cloison scroll</title><body style="font:16px serif;margin:2em">${rows.join('\n')}`;
}

/** What runs in the page: both inflators, the recording, one replay at a time. */
const PAGE_SCRIPT = `
import Pako from './node_modules/@novnc/novnc/core/inflator.js';
import { TightInflator } from './renderer/viewer/tightInflator.ts';
const kinds = { pako: () => new Pako(), fflate: () => new TightInflator() };
let records = [];
window.load = (b64) => {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const view = new DataView(bytes.buffer);
  records = [];
  for (let at = 0; at < bytes.length; ) {
    const length = view.getUint32(at + 10, true);
    records.push({ resets: bytes[at + 4], stream: bytes[at + 5], expected: view.getUint32(at + 6, true), data: bytes.subarray(at + 14, at + 14 + length) });
    at += 14 + length;
  }
  return records.length;
};
function replay(kind, sums) {
  const z = [0, 1, 2, 3].map(kinds[kind]);
  let touched = 0;
  for (const r of records) {
    for (let i = 0; i < 4; i++) if ((r.resets >> i) & 1) z[i].reset();
    if (!r.expected) continue;
    const s = z[r.stream];
    s.setInput(r.data);
    const out = s.inflate(r.expected);
    s.setInput(null);
    if (sums) { let h = 0; for (let i = 0; i < out.length; i++) h = (Math.imul(h, 31) + out[i]) | 0; sums.push(h); }
    else touched += out[out.length - 1];
  }
  return touched;
}
window.check = () => {
  const a = [], b = [];
  replay('pako', a);
  replay('fflate', b);
  return a.length === b.length && a.every((h, i) => h === b[i]);
};
window.time = (kind) => {
  const t = performance.now();
  replay(kind);
  return performance.now() - t;
};
`;

export interface InflateFigures {
  updates: number;
  rectangles: number;
  bytesIn: number;
  bytesOut: number;
  identical: boolean;
  rounds: Array<{ load: string; pakoMsPerUpdate: number; fflateMsPerUpdate: number; pakoCpuMsPerUpdate: number; fflateCpuMsPerUpdate: number }>;
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

export async function runInflateBench(log: (s: string) => void): Promise<InflateFigures> {
  const saved = process.env.INFLATE_RECORDING;
  let recording: Uint8Array;
  if (saved && existsSync(saved)) recording = readFileSync(saved);
  else {
    log(`  recording ${RECORD_SECONDS} s of Firefox scrolling on a bare Xvnc (load ${load()})`);
    recording = encodeRecords(await recordTightScroll(longPage(), RECORD_SECONDS));
    if (saved) writeFileSync(saved, recording);
  }
  const records = decodeRecords(recording);
  const updates = new Set(records.map((r) => r.update)).size;
  const bytesIn = records.reduce((s, r) => s + r.data.length, 0);
  const bytesOut = records.reduce((s, r) => s + r.expected, 0);
  log(`  ${records.length} compressed rectangles in ${updates} updates: ${(bytesIn / 2 ** 20).toFixed(1)} MiB of zlib data, ${(bytesOut / 2 ** 20).toFixed(1)} MiB inflated`);

  const bundle = await build({ stdin: { contents: PAGE_SCRIPT, resolveDir: ROOT, loader: 'js' }, bundle: true, format: 'iife', write: false, logLevel: 'silent' });
  const marker = `--cloison-inflate-${process.pid}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--no-first-run', marker] });
  try {
    const browserPid = treeRootWith(marker);
    if (browserPid === null) throw new Error("the benchmark's Chromium is not among the processes");
    const page = await browser.newPage();
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
    await page.evaluate((b64) => (window as unknown as { load: (s: string) => number }).load(b64), Buffer.from(recording).toString('base64'));
    const identical = (await page.evaluate('window.check()')) as boolean;
    log(`  every rectangle inflated the same by both: ${identical}`);
    const rounds: InflateFigures['rounds'] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 ? (['fflate', 'pako'] as const) : (['pako', 'fflate'] as const);
      const ms: Record<string, number> = {};
      const cpuMs: Record<string, number> = {};
      const at = load();
      for (const kind of order) {
        const before = cpuSecondsOfTree(browserPid);
        ms[kind] = (await page.evaluate(`window.time('${kind}')`)) as number;
        cpuMs[kind] = (cpuSecondsOfTree(browserPid) - before) * 1000;
      }
      const round = { load: at, pakoMsPerUpdate: ms.pako! / updates, fflateMsPerUpdate: ms.fflate! / updates, pakoCpuMsPerUpdate: cpuMs.pako! / updates, fflateCpuMsPerUpdate: cpuMs.fflate! / updates };
      rounds.push(round);
      log(`  round ${r + 1} (load ${at}): pako ${fmt(round.pakoMsPerUpdate)} ms/update (CPU ${fmt(round.pakoCpuMsPerUpdate)}), fflate ${fmt(round.fflateMsPerUpdate)} ms/update (CPU ${fmt(round.fflateCpuMsPerUpdate)}): ${fmt(round.fflateMsPerUpdate / round.pakoMsPerUpdate)}× (CPU ${fmt(round.fflateCpuMsPerUpdate / round.pakoCpuMsPerUpdate)}×)`);
    }
    const p = median(rounds.map((x) => x.pakoMsPerUpdate));
    const f = median(rounds.map((x) => x.fflateMsPerUpdate));
    const pc = median(rounds.map((x) => x.pakoCpuMsPerUpdate));
    const fc = median(rounds.map((x) => x.fflateCpuMsPerUpdate));
    log(`  medians: pako ${fmt(p)} ms/update (CPU ${fmt(pc)}), fflate ${fmt(f)} ms/update (CPU ${fmt(fc)}): fflate/pako ${fmt(f / p)}× (CPU ${fmt(fc / pc)}×) (load now ${load()})`);
    return { updates, rectangles: records.length, bytesIn, bytesOut, identical, rounds };
  } finally {
    await browser.close();
  }
}
