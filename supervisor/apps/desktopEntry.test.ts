/**
 * The launcher's names and icons come from the host's .desktop files and PNG icons only: names are
 * one clean line, French when the file has it; SVG icons, oversized files, fake PNGs and paths
 * outside /usr/share are never served.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { desktopFields, findPngIcon, readDesktopEntry } from './desktopEntry';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(32, 1)]);

describe('desktop entries', () => {
  let root: string;
  let apps: string;
  let icons: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'cloison-desktop-'));
    apps = join(root, 'applications');
    icons = join(root, 'hicolor');
    mkdirSync(apps);
    mkdirSync(join(icons, '48x48', 'apps'), { recursive: true });
    mkdirSync(join(icons, 'scalable', 'apps'), { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reads Name, Name[fr] and a 48x48 PNG icon from the [Desktop Entry] group only', () => {
    writeFileSync(join(apps, 'editor.desktop'), '[Desktop Entry]\nName=Text Editor\nName[fr]=Éditeur de texte\nIcon=editor\n[Desktop Action new]\nName=New window\n');
    writeFileSync(join(icons, '48x48', 'apps', 'editor.png'), PNG);
    const entry = readDesktopEntry('editor', apps, [icons]);
    expect(entry).toEqual({ name: { fr: 'Éditeur de texte', en: 'Text Editor' }, icon: `data:image/png;base64,${PNG.toString('base64')}` });
  });

  it('makes a name one line of at most 60 visible characters, without control or direction characters', () => {
    writeFileSync(join(apps, 'x.desktop'), `[Desktop Entry]\nName=Bad\u202eelif\u0007 name ${'x'.repeat(100)}\n`);
    const name = readDesktopEntry('x', apps, [icons])!.name.en;
    expect(name).not.toMatch(/[\u202e\u0007]/);
    expect([...name].length).toBe(60);
    expect(name.startsWith('Bad elif name')).toBe(true);
  });

  it('serves no SVG, no fake PNG, no oversized icon, no path outside /usr/share', () => {
    writeFileSync(join(icons, 'scalable', 'apps', 'vector.svg'), '<svg onload="alert(1)"/>');
    expect(findPngIcon('vector', [icons])).toBeNull();
    writeFileSync(join(icons, '48x48', 'apps', 'fake.png'), '<svg onload="alert(1)"/>');
    expect(findPngIcon('fake', [icons])).toBeNull();
    writeFileSync(join(icons, '48x48', 'apps', 'huge.png'), Buffer.concat([PNG, Buffer.alloc(100 * 1024)]));
    expect(findPngIcon('huge', [icons])).toBeNull();
    expect(findPngIcon('/etc/shadow', [icons])).toBeNull();
    expect(findPngIcon('/usr/share/../../etc/x.png', [icons])).toBeNull();
    expect(findPngIcon('../../x', [icons])).toBeNull();
  });

  it('gives null for a missing file or one without a name', () => {
    expect(readDesktopEntry('absent', apps, [icons])).toBeNull();
    writeFileSync(join(apps, 'noname.desktop'), '[Desktop Entry]\nIcon=x\n');
    expect(readDesktopEntry('noname', apps, [icons])).toBeNull();
    expect(desktopFields('Name=outside a group\n[Desktop Entry]\nName=inside\nName=second\n').get('Name')).toBe('inside');
  });

  it('finds the default policy’s applications on this host, with a PNG icon each but XTerm', () => {
    for (const [file, name] of [['firefox-esr', 'Firefox ESR'], ['libreoffice-writer', 'LibreOffice Writer'], ['libreoffice-calc', 'LibreOffice Calc'], ['mupdf', 'MuPDF'], ['pcmanfm', 'File Manager PCManFM'], ['org.xfce.mousepad', 'Mousepad']] as const) {
      const entry = readDesktopEntry(file);
      expect(entry?.name.en, file).toBe(name);
      expect(entry?.icon, file).toMatch(/^data:image\/png;base64,/);
    }
    expect(readDesktopEntry('debian-xterm')?.name.en).toBe('XTerm');
  });
});
