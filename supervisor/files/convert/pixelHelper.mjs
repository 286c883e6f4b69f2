// Cloison pixel helper: runs INSIDE a disposable bubblewrap sandbox (no network, an empty tmpfs, a
// uid of its own, the cages' syscall filter) and turns one untrusted document into bare pixels.
// Plain JavaScript with no dependencies, because the sandbox holds nothing but /usr and this file.
//
//   node pixelHelper.mjs INPUT KIND DPI MAX_PAGES MAX_SIDE MEMORY_BYTES
//
// KIND is `pdf`, or the extension LibreOffice opens the file under (odt, docx, png, txt…): those go
// through LibreOffice headless to a PDF first. The renderers (soffice, pdfinfo, pdftoppm) run under
// an address-space and file-size limit; this helper only reads the PPM headers pdftoppm writes.
//
// stdout, all integers unsigned 32-bit big-endian:
//   PAGES, then per page WIDTH HEIGHT and WIDTH*HEIGHT*3 bytes of RGB rows.
// A refusal: nothing more on stdout, one JSON line {"refuse": CODE, "detail": TEXT} on stderr,
// exit 3. CODE: encrypted, too-many-pages, page-too-large, unreadable.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, createReadStream, mkdirSync, readdirSync, writeFileSync } from 'node:fs';

const [input, kind, dpiArg, maxPagesArg, maxSideArg, memoryArg] = process.argv.slice(2);
const dpi = Number(dpiArg);
const maxPages = Number(maxPagesArg);
const maxSide = Number(maxSideArg);
const limits = ['prlimit', `--as=${memoryArg}`, `--fsize=${memoryArg}`, '--core=0', '--'];

function refuse(code, detail) {
  process.stderr.write(`${JSON.stringify({ refuse: code, detail: String(detail).slice(0, 300) })}\n`);
  process.exit(3);
}

/** Runs a renderer under the limits; its stdout as text. */
function run(argv, opts = {}) {
  const r = spawnSync(limits[0], [...limits.slice(1), ...argv], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024, ...opts });
  return r;
}

// Fonts from /usr only: fontconfig's own configuration lives in /etc, which the sandbox does not have;
// the host's cache of those fonts is read-only, misses are cached in the tmpfs.
mkdirSync('/tmp/home', { recursive: true });
mkdirSync('/tmp/out', { recursive: true });
writeFileSync('/tmp/fonts.conf', '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig><dir>/usr/share/fonts</dir><cachedir>/var/cache/fontconfig</cachedir><cachedir>/tmp/fontcache</cachedir></fontconfig>\n');
process.env.FONTCONFIG_FILE = '/tmp/fonts.conf';
process.env.HOME = '/tmp/home';

let pdf = input;
if (kind !== 'pdf') {
  // LibreOffice names what it writes after its input: give it a fixed name with the kind's extension.
  const named = `/tmp/in.${kind}`;
  copyFileSync(input, named);
  const r = run(['soffice', '--headless', '--norestore', '--nologo', '--nolockcheck', '--nodefault', '-env:UserInstallation=file:///tmp/home/lo', '--convert-to', 'pdf', '--outdir', '/tmp/out', named]);
  const made = readdirSync('/tmp/out').filter((n) => n.endsWith('.pdf'));
  if (made.length !== 1) refuse('unreadable', `LibreOffice could not open it as .${kind} (${(r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').pop()})`);
  pdf = `/tmp/out/${made[0]}`;
}

// One pdfinfo tells the page count, encryption and every page's size (up to one past the limit).
const info = run(['pdfinfo', '-f', '1', '-l', String(maxPages + 1), pdf]);
const said = `${info.stdout}\n${info.stderr}`;
if (/Incorrect password|Encrypted:\s+yes/i.test(said) && !/Encrypted:\s+no/i.test(said)) refuse('encrypted', 'it opens only with a password');
if (info.status !== 0) refuse('unreadable', (info.stderr || `pdfinfo exit ${info.status}`).trim().split('\n').pop());
const pages = Number(/^Pages:\s+(\d+)/m.exec(info.stdout)?.[1] ?? NaN);
if (!Number.isInteger(pages) || pages < 1) refuse('unreadable', 'no page');
if (pages > maxPages) refuse('too-many-pages', `${pages} pages, over the limit of ${maxPages}`);

// Every page's size before any rendering: a page too large is refused, not rendered.
for (const m of info.stdout.matchAll(/^Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+) pts/gm)) {
  const w = Math.ceil((Number(m[2]) * dpi) / 72);
  const h = Math.ceil((Number(m[3]) * dpi) / 72);
  if (w > maxSide || h > maxSide) refuse('page-too-large', `page ${m[1]} is ${w} × ${h} px at ${dpi} dpi, over ${maxSide} px a side`);
}

function u32(...values) {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v, 4 * i));
  return b;
}

/** Writes to stdout, waiting for the pipe to drain (the supervisor reads page by page). */
function out(buf) {
  return new Promise((resolve, reject) => process.stdout.write(buf, (err) => (err ? reject(err) : resolve())));
}

// One pdftoppm for the whole document (each page started anew would parse the document again):
// it writes page after page into named pipes made beforehand, which this helper reads in order,
// so no page ever rests in the tmpfs and each page's time can be watched from outside.
const digits = String(pages).length;
mkdirSync('/tmp/pages');
const names = Array.from({ length: pages }, (_, i) => `/tmp/pages/p-${String(i + 1).padStart(digits, '0')}.ppm`);
const made = spawnSync('mkfifo', ['-m', '600', ...names]);
if (made.status !== 0) refuse('unreadable', 'cannot make the pages\' pipes');
const renderer = spawn(limits[0], [...limits.slice(1), 'pdftoppm', '-r', String(dpi), pdf, '/tmp/pages/p'], { stdio: ['ignore', 'ignore', 'pipe'] });
let rendererSaid = '';
renderer.stderr.on('data', (d) => (rendererSaid = (rendererSaid + d).slice(-500)));
renderer.on('close', (code) => {
  if (code !== 0) refuse('unreadable', rendererSaid.trim().split('\n').pop() || `the renderer exited ${code}`);
});

/** One page from its pipe: its P6 header read here, its rows passed on as they come. */
function renderPage(n) {
  return new Promise((resolve) => {
    const page = createReadStream(names[n - 1]);
    let head = Buffer.alloc(0);
    let left = -1;
    page.on('data', async (chunk) => {
      if (left < 0) {
        head = Buffer.concat([head, chunk]);
        const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(head.toString('latin1', 0, Math.min(head.length, 64)));
        if (!m) {
          if (head.length > 64) refuse('unreadable', `page ${n}: the renderer gave no image`);
          return;
        }
        const w = Number(m[1]);
        const h = Number(m[2]);
        if (w > maxSide || h > maxSide || w < 1 || h < 1) refuse('page-too-large', `page ${n} rendered at ${w} × ${h} px`);
        left = w * h * 3;
        chunk = head.subarray(m[0].length);
        page.pause();
        await out(u32(w, h));
        page.resume();
      }
      const part = chunk.subarray(0, left);
      left -= part.length;
      if (part.length > 0) {
        page.pause();
        await out(part);
        page.resume();
      }
    });
    page.on('error', (err) => refuse('unreadable', `page ${n}: ${err.message}`));
    page.on('close', () => {
      if (left !== 0) refuse('unreadable', `page ${n}: the renderer stopped mid-page`);
      resolve();
    });
  });
}

await out(u32(pages));
for (let n = 1; n <= pages; n++) await renderPage(n);
