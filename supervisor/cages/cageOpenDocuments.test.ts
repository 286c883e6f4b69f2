/**
 * A cage's desktop opens documents the way a desktop does (issue #26): a document opened by a cage
 * program — `xdg-open` (Firefox's downloads, LibreOffice's links), `gio open`, PCManFM — opens in
 * the level's application the policy gives it (cageMimeApps.ts), started inside the cage by the
 * program that asked: a true cage process (its uid, its filter, its pid namespace). Real cages with
 * the embedded policy's apps (none started with the cage); its user folders are in its language.
 * The cages are 1024×768 (the double click finds PCManFM's file where that screen puts it).
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch } from './cageLauncher';
import { embeddedLevelApps, onePagePdf } from '../testing/cageDocuments';
import { startRealCage, type RealCage } from '../testing/realCage';
import { parseXwd, type RgbImage } from '../testing/xwdImage';

/** The middle of the non-white pixels in an area of the screen; null when it is all white. */
function inkBox(image: RgbImage, area: { x: number; y: number; width: number; height: number }): { x: number; y: number } | null {
  let [left, top, right, bottom] = [Infinity, Infinity, -1, -1];
  for (let y = area.y; y < Math.min(image.height, area.y + area.height); y++) {
    for (let x = area.x; x < Math.min(image.width, area.x + area.width); x++) {
      const i = (y * image.width + x) * 3;
      if (image.rgb[i]! > 235 && image.rgb[i + 1]! > 235 && image.rgb[i + 2]! > 235) continue;
      [left, top, right, bottom] = [Math.min(left, x), Math.min(top, y), Math.max(right, x), Math.max(bottom, y)];
    }
  }
  return right < 0 ? null : { x: Math.round((left + right) / 2), y: Math.round((top + bottom) / 2) };
}

/** Writes `text` at `path` (under $HOME) as the cage's user. */
async function put(cage: RealCage, path: string, text: string): Promise<void> {
  const r = await cage.sh(`mkdir -p "$(dirname "$HOME/${path}")" && echo ${Buffer.from(text).toString('base64')} | base64 -d > "$HOME/${path}"`);
  expect(r.code, r.stderr).toBe(0);
}

/** An OpenDocument text, as a zip with its mimetype first (python3's zipfile, in the cage). */
const ODT_SCRIPT = `python3 - "$HOME/lettre.odt" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr(zipfile.ZipInfo('mimetype'), 'application/vnd.oasis.opendocument.text')
    z.writestr('META-INF/manifest.xml', '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>', zipfile.ZIP_DEFLATED)
    z.writestr('content.xml', '<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:text><text:p>Bonjour</text:p></office:text></office:body></office:document-content>', zipfile.ZIP_DEFLATED)
EOF`;

/** A 32×32 PNG (python3's zlib, in the cage). */
const PNG_SCRIPT = `python3 - "$HOME/photo.png" <<'EOF'
import struct, sys, zlib
def chunk(kind, data): return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
rows = b''.join(b'\\0' + bytes([200, 60, 40]) * 32 for _ in range(32))
open(sys.argv[1], 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 32, 32, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))
EOF`;

/** Waits for a window whose title matches, as the cage lists its windows (wmctrl); its line. */
async function windowTitled(cage: RealCage, title: RegExp, timeoutMs: number): Promise<string> {
  let listed = '';
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
    listed = (await cage.sh('wmctrl -l')).stdout;
    const line = listed.split('\n').find((l) => title.test(l));
    if (line) return line;
  }
  throw new Error(`no window titled ${title} in the cage; its windows:\n${listed}`);
}

/**
 * The cage processes whose command line matches (an extended regular expression, pgrep's): pid, uid,
 * seccomp mode, no_new_privs — read in the cage, whose pid namespace holds its own processes only.
 * Its init, bwrap, names the cage's files in its arguments (/etc/firefox-esr/...): a pattern
 * anchors on the program.
 */
async function cageProcesses(cage: RealCage, pattern: string): Promise<{ pid: number; uid: number; seccomp: number; noNewPrivs: number; cmd: string }[]> {
  const r = await cage.sh(`for p in $(pgrep -f ${JSON.stringify(pattern)}); do [ "$p" = $$ ] && continue; printf '%s %s %s %s %s\\n' "$p" "$(awk '/^Uid:/{print $2}' /proc/$p/status)" "$(awk '/^Seccomp:/{print $2}' /proc/$p/status)" "$(awk '/^NoNewPrivs:/{print $2}' /proc/$p/status)" "$(tr '\\0' ' ' </proc/$p/cmdline)"; done`);
  return r.stdout.trim().split('\n').filter((l) => l && !l.includes('pgrep')).map((l) => {
    const [pid, uid, seccomp, noNewPrivs, ...cmd] = l.split(' ');
    return { pid: Number(pid), uid: Number(uid), seccomp: Number(seccomp), noNewPrivs: Number(noNewPrivs), cmd: cmd.join(' ').trim() };
  });
}

/** What opened is a true cage process: the cage's uid, Cloison's filter, no new privileges. */
async function expectCageProcess(cage: RealCage, pattern: string): Promise<void> {
  const found = (await cageProcesses(cage, pattern)).filter((p) => !p.cmd.startsWith('sh -c') && !p.cmd.includes('pgrep'));
  expect(found.length, `a process matching ${pattern}`).toBeGreaterThan(0);
  for (const p of found) expect({ uid: p.uid, seccomp: p.seccomp, noNewPrivs: p.noNewPrivs }, p.cmd).toEqual({ uid: cage.uid, seccomp: 2, noNewPrivs: 1 });
}

/** Ends what the test opened (in the cage, as its user, by pid), so the next document opens a new window. */
async function closeAll(cage: RealCage, pattern: string): Promise<void> {
  const pids = (await cageProcesses(cage, pattern)).map((p) => p.pid);
  if (pids.length) await cage.sh(`kill ${pids.join(' ')}; sleep 1; kill -9 ${pids.join(' ')} 2>/dev/null; true`);
}

/**
 * `argv` run as a cage process opens a window titled `title` within `withinMs`; what opened is a
 * true cage process (`opened`); then it is ended (`close`), so the next document opens a new window.
 */
async function expectOpens(cage: RealCage, argv: string[], title: RegExp, opened: string, close: string, withinMs = 60_000): Promise<void> {
  await launch(cage.cage, { argv });
  await windowTitled(cage, title, withinMs);
  await expectCageProcess(cage, opened);
  await closeAll(cage, close);
}

describe('high: documents open in the level’s applications', () => {
  let cage: RealCage;
  beforeAll(async () => {
    cage = await startRealCage({ level: 'cagedesk13-high', geometry: '1024x768', policyApps: embeddedLevelApps('high') });
    await put(cage, 'Incoming/low/rapport.pdf', onePagePdf());
    await put(cage, 'copie.pdf', onePagePdf());
    await put(cage, 'Dossier/seul.pdf', onePagePdf());
    await put(cage, 'notes.txt', 'des notes\n');
    expect((await cage.sh(ODT_SCRIPT)).code).toBe(0);
    expect((await cage.sh(PNG_SCRIPT)).code).toBe(0);
  }, 90_000);
  afterAll(async () => {
    await cage?.stop();
  });

  it('a cage program asking its defaults finds the level’s apps: the policy’s command lines, nothing the level does not ship', async () => {
    const r = await cage.sh('for t in application/pdf application/vnd.oasis.opendocument.text text/plain image/png text/html; do echo "$t=$(xdg-mime query default $t)"; done; echo "gio: $(gio mime application/pdf | head -1)"; grep ^Exec= /usr/share/applications/mupdf.desktop; echo $(ls /usr/share/applications); echo "BROWSER=$BROWSER"');
    expect(r.stdout).toContain('application/pdf=mupdf.desktop\n');
    expect(r.stdout).toContain('application/vnd.oasis.opendocument.text=libreoffice-writer.desktop\n');
    expect(r.stdout).toContain('text/plain=org.xfce.mousepad.desktop\n');
    expect(r.stdout).toContain('image/png=mupdf.desktop\n');
    // No browser in high: nothing opens HTML (the host's Firefox, in its /usr, is not the level's).
    expect(r.stdout).toContain('text/html=\n');
    expect(r.stdout).toMatch(/^gio: .*mupdf\.desktop$/m);
    expect(r.stdout).toContain('Exec=mupdf %f\n'); // the policy's documentExec (mupdf-gl stays half drawn once maximized: pdfFirstPaint.test.ts)
    expect(r.stdout).toContain('debian-xterm.desktop libreoffice-calc.desktop libreoffice-writer.desktop mupdf.desktop org.xfce.mousepad.desktop pcmanfm.desktop\n');
    expect(r.stdout).toContain('BROWSER=:\n');
  });

  it('the cage cannot change its level’s defaults: both folders are read-only, root’s (attack, as a cage process)', async () => {
    const r = await cage.sh([
      'echo "application/pdf=evil.desktop;" >> /run/cloison-xdg/mimeapps.list; echo "append=$?"',
      'rm -f /run/cloison-xdg/mimeapps.list; echo "remove=$?"',
      'printf "[Desktop Entry]\\nExec=sh -c evil %%f\\n" > /usr/share/applications/mupdf.desktop; echo "replace=$?"',
      'touch /usr/share/applications/evil.desktop; echo "add=$?"',
      'mount -t tmpfs none /usr/share/applications; echo "mount=$?"',
      'stat -c "%u %a" /run/cloison-xdg/mimeapps.list /usr/share/applications/mupdf.desktop',
      'grep -c "^Exec=mupdf %f$" /usr/share/applications/mupdf.desktop',
    ].join('; '));
    for (const step of ['append', 'remove', 'replace', 'add', 'mount']) expect(r.stdout).toMatch(new RegExp(`^${step}=[1-9]`, 'm'));
    expect(r.stdout).toContain('0 444\n0 444\n1\n');
  });

  it("an HTML page in high opens nothing (no browser here), not the host's Firefox", async () => {
    await put(cage, 'page.html', '<!doctype html><title>Page</title>\n');
    const r = await cage.sh('xdg-open "$HOME/page.html"; echo "rc=$?"', 30_000);
    expect(r.stdout).toContain('rc=3'); // "no method available"
    expect(await cageProcesses(cage, '^[^ ]*firefox')).toEqual([]);
  });

  it('xdg-open of a PDF from low opens MuPDF (the policy’s documentExec, mupdf: mupdf-x11), a true cage process', async () => {
    await expectOpens(cage, ['xdg-open', '/home/cloison/Incoming/low/rapport.pdf'], /rapport\.pdf/, 'mupdf-x11 .*rapport.pdf', '^[^ ]*mupdf');
  }, 90_000);

  it('gio open (GLib, as PCManFM and GTK programs ask) opens MuPDF too', async () => {
    await expectOpens(cage, ['gio', 'open', '/home/cloison/copie.pdf'], /copie\.pdf/, 'mupdf-x11 .*copie.pdf', '^[^ ]*mupdf');
  }, 90_000);

  it('PCManFM opens the PDF the user double-clicks in its window in MuPDF (a double click on the cage’s display)', async () => {
    await launch(cage.cage, { argv: ['pcmanfm', '/home/cloison/Dossier'] });
    await windowTitled(cage, /Dossier$/, 60_000);
    // The folder's one file, as a person finds it: the ink right of the places pane (its splitter
    // ends near x=155 in this 1024×768 screen), below the tool bars; double-clicked at its middle.
    let opened = false;
    let where = '';
    for (let attempt = 0; attempt < 5 && !opened; attempt++) {
      await new Promise((r) => setTimeout(r, 1000)); // the view drawn
      const shot = await cage.sh('xwd -root -silent | gzip -1 | base64 -w0', 20_000);
      const file = inkBox(parseXwd(gunzipSync(Buffer.from(shot.stdout, 'base64'))), { x: 170, y: 90, width: 600, height: 300 });
      if (!file) continue;
      where = `${file.x},${file.y}`;
      await cage.sh(`xdotool mousemove ${file.x} ${file.y} sleep 0.3 click --repeat 2 --delay 120 1`);
      opened = await windowTitled(cage, /seul\.pdf/, 15_000).then(() => true, () => false);
    }
    expect(opened, `MuPDF opened seul.pdf from PCManFM (double click at ${where})`).toBe(true);
    await expectCageProcess(cage, 'mupdf-x11 .*seul.pdf');
    await closeAll(cage, '^[^ ]*mupdf');
    await closeAll(cage, '^[^ ]*pcmanfm');
  }, 150_000);

  it('xdg-open of an image opens it in the PDF viewer (the policy’s opens: high has no image viewer)', async () => {
    expect((await cage.sh('xdg-mime query filetype "$HOME/photo.png"')).stdout.trim()).toBe('image/png');
    await expectOpens(cage, ['xdg-open', '/home/cloison/photo.png'], /photo\.png/, 'mupdf-x11 .*photo.png', '^[^ ]*mupdf');
  }, 90_000);

  it('xdg-open of a .txt opens Mousepad (Writer lists text/plain too: the policy says the editor)', async () => {
    await expectOpens(cage, ['xdg-open', '/home/cloison/notes.txt'], /notes\.txt/, 'mousepad .*notes.txt', '^[^ ]*mousepad');
  }, 90_000);

  it('xdg-open of an .odt opens LibreOffice Writer', async () => {
    await expectOpens(cage, ['xdg-open', '/home/cloison/lettre.odt'], /lettre\.odt.*LibreOffice Writer/, 'soffice.bin', '^[^ ]*soffice', 150_000);
  }, 180_000);

  it('the user folders are in the cage’s language, named where applications look (user-dirs.dirs)', async () => {
    const r = await cage.sh('ls -1 "$HOME"; xdg-user-dir DOWNLOAD; xdg-user-dir DOCUMENTS; xdg-user-dir DESKTOP');
    for (const folder of ['Bureau', 'Documents', 'Téléchargements', 'Images', 'Musique', 'Vidéos', 'Modèles', 'Public', 'Media', 'Incoming']) expect(r.stdout.split('\n')).toContain(folder);
    expect(r.stdout).toContain('/home/cloison/Téléchargements\n/home/cloison/Documents\n/home/cloison/Bureau\n');
  });
});

describe('low: a local HTML page opens in Firefox (no network)', () => {
  let cage: RealCage;
  beforeAll(async () => {
    // network none: the page is a local file, and nothing leaves the cage.
    cage = await startRealCage({ level: 'cagedesk13-low', geometry: '1024x768', network: 'none', policyApps: embeddedLevelApps('low') });
    await put(cage, 'page.html', '<!doctype html><meta charset="utf-8"><title>Page du niveau bas</title><p>Bonjour</p>\n');
  }, 90_000);
  afterAll(async () => {
    await cage?.stop();
  });

  it('xdg-open of an .html opens Firefox, a true cage process', async () => {
    const defaults = await cage.sh('echo "[$(xdg-mime query default text/html)] [$(xdg-mime query default application/vnd.oasis.opendocument.text)]"');
    expect(defaults.stdout).toBe('[firefox-esr.desktop] []\n'); // no office suite in low
    await expectOpens(cage, ['xdg-open', '/home/cloison/page.html'], /Page du niveau bas/, '^[^ ]*firefox-esr', '^[^ ]*firefox-esr', 150_000);
  }, 180_000);
});
