/**
 * Office documents that would act when opened, converted in the real sandbox: an ODT whose macro
 * runs on load and would write a marker file and connect to 127.0.0.1, and a DOCX pointing at an
 * external template and image. While each converts, the test watches the sandbox from outside:
 * its own /tmp (read through /proc/<pid>/root, the sandbox's view) and a listener the test puts on
 * 127.0.0.1 inside the sandbox's own network namespace (its loopback brought up for the test, so a
 * fetch could succeed). Nothing of the macro or the template may appear there, nor on the host,
 * and the result holds pixels only.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertDocument, type ConvertLimits } from './documentConverter';
import { docxWithExternalTemplate, odtWithMacro } from './hostileDocuments';
import { CONVERTER_UIDS, isInRange } from '../../system/ownUids';

const LIMITS: ConvertLimits = { dpi: 100, maxPages: 20, maxPageSide: 10_000, memoryBytes: 2 * 1024 ** 3, tasks: 128, secondsPerPage: 60, secondsToOpen: 180, thumbnails: 0 };
const PORT = 20_000 + Math.floor(Math.random() * 20_000);

const dir = mkdtempSync(join(tmpdir(), 'cloison-active-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Pids of processes running as a converter uid, with their command name. */
function converters(): Array<{ pid: string; comm: string }> {
  const found: Array<{ pid: string; comm: string }> = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      if (isInRange(uid, CONVERTER_UIDS)) found.push({ pid, comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim() });
    } catch {
      /* gone */
    }
  }
  return found;
}

/** A TCP listener on 127.0.0.1:PORT inside the network namespace of `pid` (its loopback brought up first). */
function listenerInside(pid: string): { process: ChildProcess; said: () => string } {
  execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'ip', 'link', 'set', 'lo', 'up']);
  const script = `require('net').createServer((s) => { console.log('connection'); s.on('data', (d) => console.log('data ' + JSON.stringify(String(d).slice(0, 200)))); s.on('error', () => {}); }).listen(${PORT}, '127.0.0.1', () => console.log('listening'));`;
  const child = spawn('nsenter', [`--net=/proc/${pid}/ns/net`, '--', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return { process: child, said: () => out };
}

interface Watched {
  result: Awaited<ReturnType<typeof convertDocument>>;
  out: string;
  /** Paths seen inside the sandbox's own view while it ran. */
  seenInside: Set<string>;
  listener: string;
}

/**
 * Converts `doc` while watching the sandbox: `paths` (sandbox paths) through /proc/<pid>/root, and
 * a listener inside its network namespace, probed once from there to show it hears.
 */
async function convertWatched(doc: Buffer, kind: string, paths: string[]): Promise<Watched> {
  const input = join(dir, `in-${kind}`);
  writeFileSync(input, doc, { mode: 0o644 });
  const out = join(dir, `out-${kind}.pdf`);
  const before = new Set(converters().map((c) => c.pid));
  let done = false;
  const running = convertDocument(input, kind, out, LIMITS).finally(() => (done = true));
  const seenInside = new Set<string>();
  let listener: ReturnType<typeof listenerInside> | null = null;
  try {
    while (!done) {
      for (const { pid, comm } of converters()) {
        if (before.has(pid)) continue;
        if (!listener && comm === 'node') {
          listener = listenerInside(pid);
          // The listener hears a connection made inside that namespace (so silence below means something).
          for (let i = 0; i < 100 && !listener.said().includes('listening'); i++) await new Promise((r) => setTimeout(r, 20));
          execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, '--', process.execPath, '-e', `require('net').connect(${PORT}, '127.0.0.1', function () { this.end('probe'); })`]);
        }
        for (const p of paths) if (existsSync(`/proc/${pid}/root${p}`)) seenInside.add(p);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return { result: await running, out, seenInside, listener: listener?.said() ?? '' };
  } finally {
    listener?.process.kill('SIGKILL');
  }
}

function expectPixelsOnly(out: string) {
  expect(execFileSync('qpdf', ['--check', out], { encoding: 'utf8' })).toContain('No syntax or stream encoding errors');
  const dicts = readFileSync(out).toString('latin1').replace(/stream\n[\s\S]*?\nendstream/g, 'stream endstream');
  for (const name of ['/JavaScript', '/JS', '/OpenAction', '/AA', '/Launch', '/Annots', '/EmbeddedFile', '/URI', '/Font']) expect(dicts, name).not.toContain(name);
  expect(new Set([...dicts.matchAll(/\/Type \/(\w+)/g)].map((m) => m[1]))).toEqual(new Set(['Catalog', 'Pages', 'Page', 'XObject']));
}

describe('active office documents in the real sandbox', () => {
  it('an ODT whose macro runs on load: its marker appears neither in the sandbox nor on the host, nothing connects, the result has no macro', { timeout: 300_000 }, async () => {
    const marker = `/tmp/cloison-macro-ran-${process.pid}`;
    const w = await convertWatched(odtWithMacro('Ceci est un texte', marker, `127.0.0.1/${PORT}`), 'odt', [marker, `${marker}-shell`, '/tmp/in.odt']);
    expect(w.result).toMatchObject({ ok: true, pages: 1 });
    // The watch saw into the sandbox (the helper's copy of the document), and the listener heard its probe.
    expect(w.seenInside.has('/tmp/in.odt')).toBe(true);
    expect(w.listener).toContain('listening');
    expect(w.listener).toContain('data "probe"');
    expect([...w.seenInside].filter((p) => p.startsWith(marker))).toEqual([]);
    expect(existsSync(marker) || existsSync(`${marker}-shell`)).toBe(false);
    expect(w.listener.match(/connection/g)).toHaveLength(1);
    expect(w.listener).not.toContain('macro ran');
    expectPixelsOnly(w.out);
  });

  it('a DOCX pointing at an external template and image on 127.0.0.1: never fetched, even with a listener there', { timeout: 300_000 }, async () => {
    const w = await convertWatched(docxWithExternalTemplate('RAPPORT CONFIDENTIEL', `http://127.0.0.1:${PORT}`), 'docx', ['/tmp/in.docx']);
    expect(w.result).toMatchObject({ ok: true, pages: 1 });
    expect(w.seenInside.has('/tmp/in.docx')).toBe(true);
    expect(w.listener).toContain('data "probe"');
    expect(w.listener.match(/connection/g)).toHaveLength(1);
    expect(w.listener).not.toMatch(/GET|template|image/);
    expectPixelsOnly(w.out);
  });
});
