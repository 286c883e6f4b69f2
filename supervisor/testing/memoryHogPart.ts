/**
 * Test tool, run as the `cloison` part is (the `cloison` account, its filter for sandboxes): one
 * conversion whose sandboxed program, in the pixel helper's place, allocates without end (what a
 * hostile document can make LibreOffice do), then the same in tesseract's and in the scanner's
 * place. Reports what the conversion said and whether the
 * part's own memory group reached its limit meanwhile (memory.max_usage_in_bytes).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { managerChannel } from '../cageManager/socketHandOver';
import { convertDocument } from '../files/convert/documentConverter';
import { hostile } from '../files/convert/hostileDocuments';
import { spawnPixelSandbox } from '../files/convert/pixelSandbox';
import { conversionGroup, type ConversionGroup } from '../files/conversionCgroup';
import { scanStaged } from '../files/scannerSandbox';
import { restrictCloisonPartForSandboxes } from './cloisonPartSandboxing';

const start = restrictCloisonPartForSandboxes<{ workDir: string }>();
const channel = managerChannel();
channel.send({ type: 'ready' });

/** The part's own v1 memory group's counters. */
function ownMemory(): { group: string; failcnt: number; limit: number; maxUsage: number } {
  const group = readFileSync('/proc/self/cgroup', 'utf8').split('\n').map((l) => /^\d+:([^:]*):(.*)$/.exec(l)).find((m) => m?.[1]?.split(',').includes('memory'))?.[2] ?? '';
  const read = (file: string) => Number(readFileSync(join('/sys/fs/cgroup/memory', group, file), 'utf8').trim());
  return { group, failcnt: read('memory.failcnt'), limit: read('memory.limit_in_bytes'), maxUsage: read('memory.max_usage_in_bytes') };
}

const staged = join(start.workDir, 'hog.pdf');
writeFileSync(staged, hostile.pages(1), { mode: 0o600 });
const before = ownMemory();
const limits = { dpi: 150, maxPages: 20, maxPageSide: 10_000, memoryBytes: 2 * 1024 ** 3, tasks: 64, secondsPerPage: 120, secondsToOpen: 120, thumbnails: 1 };
const hog = (node: string) => [node, '-e', 'const held = []; for (;;) held.push(Buffer.alloc(16 << 20, 1));'];
const result = await convertDocument(staged, 'pdf', join(start.workDir, 'hog.out.pdf'), limits, hog);
channel.send({ type: 'report', step: 'hog', result, before, after: ownMemory() });

// The same in the OCR's place (a page tesseract is made to allocate for) and in the scanner's.
const perlHog = 'my @held; while (1) { push @held, "a" x (16 << 20) }';
const ocrHog = join(start.workDir, 'ocr-hog');
writeFileSync(ocrHog, `#!/usr/bin/perl\n${perlHog}\n`, { mode: 0o755 });
const ocr = await convertDocument(staged, 'pdf', join(start.workDir, 'ocr.out.pdf'), { ...limits, ocr: { languages: ['eng'], program: ocrHog } });
channel.send({ type: 'report', step: 'ocr hog', result: ocr, after: ownMemory() });
const scan = await scanStaged(staged, ['/usr/bin/perl', '-e', perlHog], []);
channel.send({ type: 'report', step: 'scanner hog', result: scan, after: ownMemory() });
// The part still works: it converts a plain document after.
const plain = join(start.workDir, 'plain.pdf');
writeFileSync(plain, hostile.pages(1), { mode: 0o600 });
const next = await convertDocument(plain, 'pdf', join(start.workDir, 'plain.out.pdf'), limits);
channel.send({ type: 'report', step: 'next', result: next.ok ? { ok: true, pages: next.pages } : next });
// Two at once (two documents sent together): their groups' limits together may not exceed the part's.
const [first, second] = await Promise.all(['twin-1', 'twin-2'].map((name) => convertDocument(staged, 'pdf', join(start.workDir, `${name}.out.pdf`), limits, hog)));
channel.send({ type: 'report', step: 'two hogs', results: [first, second], after: ownMemory() });

// Tasks: sandboxes started one after another (documents sent one by one), each forking until
// refused and holding what it forked (the converters' task bound counts the uid's tasks at each
// start, so each starts above the last); then the part itself forks.
const bomb = (node: string) => [node, '-e', "const { spawn } = require('node:child_process'); let n = 0; for (let i = 0; i < 300; i++) { const k = spawn('sleep', ['600']); k.on('error', () => undefined); if (k.pid !== undefined) n++; } process.stdout.write(`${n}\\n`); setInterval(() => undefined, 60000);"];
const bombs: Array<{ child: ChildProcess; group: ConversionGroup | null }> = [];
const forked: number[] = [];
for (let i = 0; i < 5; i++) {
  const group = conversionGroup('convert', limits);
  const child = spawnPixelSandbox(staged, 'pdf', limits, { ...(group ? { prefix: group.prefix } : {}), helper: bomb });
  child.on('error', () => undefined); // a start refused (EAGAIN) closes it with its errno
  child.stderr!.resume();
  forked.push(await new Promise<number>((resolve) => {
    let said = '';
    child.stdout!.on('data', (d: Buffer) => {
      said += d.toString();
      if (said.includes('\n')) resolve(Number(said.trim()));
    });
    child.on('close', () => resolve(-1));
  }));
  bombs.push({ child, group });
}
const partFork = spawnSync('/bin/true');
// A document sent while they hold: refused, the part going on.
const meanwhile = await convertDocument(staged, 'pdf', join(start.workDir, 'meanwhile.out.pdf'), limits);
channel.send({ type: 'report', step: 'fork bombs', forked, partFork: partFork.error ? (partFork.error as NodeJS.ErrnoException).code : partFork.status, meanwhile });
for (const b of bombs) {
  b.child.kill('SIGKILL');
  await new Promise((resolve) => (b.child.exitCode !== null || b.child.signalCode !== null ? resolve(null) : b.child.on('close', resolve)));
  b.group?.remove();
}

// The sandboxes' groups below the part's, left after their ends: none.
const below = (() => {
  try {
    return readdirSync(join('/sys/fs/cgroup/memory', ownMemory().group, 'cloison', 'sandboxes'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? [] : [(err as Error).message];
  }
})();
channel.send({ type: 'report', step: 'groups left', below });
channel.send({ type: 'done' });
