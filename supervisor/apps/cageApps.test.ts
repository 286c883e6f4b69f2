/**
 * The levels' real applications work inside a real cage, started the one way into it (the cage's
 * launcher): Firefox paints a page from the cage's home with no network at all, LibreOffice Writer
 * edits and saves an .odt, the PDF viewer shows a PDF. What they painted is read from the cage's
 * own screen; what they saved from its home.
 */
import { chownSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { skipWhen, skipWhenMissing } from '../testing/skipWithReason';
import { captureCageScreen } from '../testing/cageScreen';
import { cageProcess, hostPidOf, processesInCage } from '../testing/cageProcesses';
import { startRealCage, type RealCage } from '../testing/realCage';
import { waitFor } from '../testing/waitFor';
import { whereStuck } from '../testing/whereStuck';
import { launch, run } from '../cages/cageLauncher';
import { findBinary } from '../system/binaries';
import { firefoxPolicies } from '../cages/cageAppSettings';
import { onePagePdf } from '../testing/cageDocuments';

const APPS_LIMITS = { memoryBytes: 3 * 2 ** 30, tasks: 1024 };

/** Writes a file into the cage's home, owned by the cage's user. */
function putInHome(cage: RealCage, name: string, content: string | Buffer): void {
  const path = join(cage.paths.home, name);
  writeFileSync(path, content);
  chownSync(path, cage.uid, cage.uid);
}

/** A one-page PDF filled with one colour and a line of text. */
function colourPdf([r, g, b]: [number, number, number], text: string): Buffer {
  return Buffer.from(onePagePdf(`${r / 255} ${g / 255} ${b / 255} rg 0 0 595 842 re f 0 0 0 rg BT /F1 36 Tf 72 760 Td (${text}) Tj ET`, [595, 842]), 'latin1');
}

/** content.xml of an .odt (a zip), read without an unzip program: sizes from the central directory (LibreOffice streams its entries). */
function odtContent(file: Buffer): string {
  for (let at = file.indexOf('PK\x01\x02'); at >= 0; at = file.indexOf('PK\x01\x02', at + 4)) {
    const method = file.readUInt16LE(at + 10);
    const size = file.readUInt32LE(at + 20);
    const nameLength = file.readUInt16LE(at + 28);
    const local = file.readUInt32LE(at + 42);
    if (file.subarray(at + 46, at + 46 + nameLength).toString() !== 'content.xml') continue;
    const start = local + 30 + file.readUInt16LE(local + 26) + file.readUInt16LE(local + 28);
    const data = file.subarray(start, start + size);
    return (method === 8 ? inflateRawSync(data) : data).toString('utf8');
  }
  throw new Error('no content.xml in the file');
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

async function screenShare(cage: RealCage, rgb: [number, number, number]): Promise<number> {
  return (await captureCageScreen(cage.sh, cage.paths.home)).share(rgb, 12);
}

async function xdotool(cage: RealCage, ...args: string[]): Promise<string> {
  const r = await run(cage.cage, { argv: ['xdotool', ...args], timeoutMs: 20_000 });
  return r.stdout;
}

const missing = ['firefox-esr', 'libreoffice', 'mupdf-gl', 'xdotool'].filter((p) => !findBinary(p));

describe(`the levels' applications in real cages`, missing.length ? skipWhenMissing(missing) : skipWhen(process.getuid?.() !== 0 && 'run as root: real cages'), () => {
  let cage: RealCage | null = null;
  afterEach(async () => {
    await cage?.stop();
    cage = null;
  });

  it('Firefox paints a page from the cage home, with no network, as a true cage process, its profile in the cage home', async () => {
    cage = await startRealCage({ level: 'apps-ff', geometry: '1024x640', network: 'none', limits: APPS_LIMITS });
    putInHome(cage, 'bonjour.html', '<!doctype html><title>Bonjour Cloison</title><body style="margin:0;background:#ffd700"><h1>Bonjour</h1>');
    const firefox = await launch(cage.cage, { argv: ['firefox-esr', '/home/cloison/bonjour.html'] });
    const p = cageProcess(hostPidOf(cage.cage.innerPid!, firefox.pid)!)!;
    expect({ seccomp: p.seccomp, noNewPrivs: p.noNewPrivs, capEff: p.capEff, uid: p.uid }).toEqual({ seccomp: 2, noNewPrivs: 1, capEff: '0000000000000000', uid: cage.uid });
    // The page's gold covers most of the screen once painted.
    await waitFor(async () => (await screenShare(cage!, [0xff, 0xd7, 0x00])) > 0.4, 'Firefox painted the page', 90_000, 1000);
    expect(await xdotool(cage, 'search', '--name', 'Bonjour Cloison')).toMatch(/\d+/);
    // Its enterprise policy is where Debian's Firefox ESR looks, readable by the cage's user (a folder bwrap made 0700 once hid it).
    const policy = await run(cage.cage, { argv: ['cat', '/etc/firefox-esr/policies/policies.json'] });
    expect(JSON.parse(policy.stdout)).toEqual(firefoxPolicies('fr'));
    expect(filesUnder(cage.paths.home).some((f) => f.endsWith('/prefs.js'))).toBe(true); // its profile in the cage's home
  }, 150_000);

  it('LibreOffice Writer edits an .odt and saves it in the cage home', async () => {
    cage = await startRealCage({ level: 'apps-lo', geometry: '1024x640', network: 'none', limits: APPS_LIMITS });
    putInHome(cage, '.keep', '');
    await launch(cage.cage, { argv: ['libreoffice', '--writer'] });
    await waitFor(async () => /Writer/.test(await xdotool(cage!, 'search', '--name', 'LibreOffice Writer', 'getwindowname', '%@').catch(() => '')), 'Writer open', 120_000, 1000);
    // The first start's tip of the day, if any, goes with Escape; then type, save under a name. The
    // windows' names are French where the host has the French locale (cages/cageLanguage.ts).
    await xdotool(cage, 'search', '--name', 'Tip of the Day|Astuce du jour', 'windowactivate', '--sync', 'key', 'Escape').catch(() => '');
    await new Promise((r) => setTimeout(r, 1000));
    await xdotool(cage, 'search', '--name', '(Untitled|Sans nom) 1 - LibreOffice Writer', 'windowactivate', '--sync');
    await xdotool(cage, 'type', '--delay', '30', 'Bonjour depuis le niveau haut');
    await xdotool(cage, 'key', 'ctrl+s');
    await waitFor(async () => (await xdotool(cage!, 'search', '--name', '^(Save|Enregistrer)').catch(() => '')).trim() !== '', 'the Save dialog', 30_000, 500);
    await xdotool(cage, 'key', 'ctrl+a');
    await xdotool(cage, 'type', '--delay', '30', '/home/cloison/bonjour.odt');
    await xdotool(cage, 'key', 'Return');
    const saved = join(cage.paths.home, 'bonjour.odt');
    // Read until complete: LibreOffice writes the file in several steps.
    const savedText = () => {
      try {
        return odtContent(readFileSync(saved));
      } catch {
        return '';
      }
    };
    await waitFor(() => savedText().includes('Bonjour depuis le niveau haut'), 'the .odt saved with the text', 30_000, 500).catch((err: Error) => {
      throw new Error(`${err.message}; content.xml: ${savedText().replace(/.*<office:text>/s, '').slice(0, 500)}`);
    });
    expect(await xdotool(cage, 'search', '--name', 'bonjour.odt')).toMatch(/\d+/);
  }, 240_000);

  it("the PDF viewer shows a PDF from the cage's home", async () => {
    cage = await startRealCage({ level: 'apps-pdf', geometry: '1024x640', network: 'none', limits: APPS_LIMITS });
    putInHome(cage, 'rouge.pdf', colourPdf([0xc0, 0x10, 0x30], 'Document rouge'));
    const viewer = await launch(cage.cage, { argv: ['mupdf-gl', '/home/cloison/rouge.pdf'] });
    await waitFor(async () => (await screenShare(cage!, [0xc0, 0x10, 0x30])) > 0.1, 'the PDF page painted', 60_000, 1000).catch(async (err: Error) => {
      // What the cage showed instead (seen once in a loaded CI run, never alone): the viewer's process and the windows.
      const hostPid = hostPidOf(cage!.cage.innerPid!, viewer.pid);
      const windows = await xdotool(cage!, 'search', '--name', '.', 'getwindowname', '%@').catch((e: Error) => `(xdotool: ${e.message})`);
      const others = processesInCage(cage!.cage.innerPid!).filter((p) => p.pid !== hostPid).map((p) => `${p.command.slice(0, 60)}: ${/openbox/.test(p.command) ? whereStuck(p.pid) : whereStuck(p.pid).split('\n')[0]}`);
      throw new Error(`${err.message}; mupdf-gl ${hostPid !== null ? `still running (${whereStuck(hostPid)})` : 'gone'}; the cage's other processes: ${others.join(' | ')}; the page's red on ${(100 * (await screenShare(cage!, [0xc0, 0x10, 0x30]))).toFixed(1)} % of the screen; windows: ${windows.trim().split('\n').join(' | ') || 'none'}`);
    });
    expect(await xdotool(cage, 'search', '--name', 'rouge.pdf')).toMatch(/\d+/);
  }, 120_000);
});
