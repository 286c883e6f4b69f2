/**
 * The cage's LibreOffice profile gets AutoRecovery every minute (officeFirstStart.ts): a new profile
 * with it, an older profile (made before, no AutoSave setting) with it added once, a user's own choice
 * kept (on or off, as LibreOffice 7.4's Options dialog writes it), a link in place of the file left
 * alone. The seeding script run by a plain shell with its own HOME, as the cage's launcher runs it
 * (the real cage: supervisor/apps/officeRecovery.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CageLauncher } from './cageLauncher';
import { seedOfficeProfile } from './officeFirstStart';
import { testRoot } from '../testing/testRoots';

const APPS = [{ id: 'writer', exec: ['libreoffice', '--writer'] }] as never;

/** A launcher whose run is `sh -c` with `home` as HOME. */
function shellLauncher(home: string): CageLauncher {
  return {
    run: async ({ argv, input }) => {
      const r = spawnSync(argv[0]!, argv.slice(1), { input: input ?? '', env: { PATH: process.env.PATH, HOME: home }, encoding: 'utf8' });
      return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
    },
  } as CageLauncher;
}

const profile = (home: string) => join(home, '.config/libreoffice/4/user/registrymodifications.xcu');
const DOCUMENT = '<item oor:path="/org.openoffice.Office.Common/Save/Document">';
const ON = `${DOCUMENT}<prop oor:name="AutoSave" oor:op="fuse"><value>true</value></prop></item>`;
const EVERY_MINUTE = `${DOCUMENT}<prop oor:name="AutoSaveTimeIntervall" oor:op="fuse"><value>1</value></prop></item>`;
const OLD = '<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry">\n<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="ShowTipOfTheDay" oor:op="fuse"><value>false</value></prop></item>\n</oor:items>\n';
/** An older profile with its own lines inserted before the end. */
const oldWith = (...lines: string[]) => OLD.replace('</oor:items>', `${lines.join('\n')}\n</oor:items>`);

function homeWith(xcu: string): string {
  const home = testRoot('cloison-lorecover13-');
  mkdirSync(join(home, '.config/libreoffice/4/user'), { recursive: true });
  writeFileSync(profile(home), xcu);
  return home;
}

describe("the cage's LibreOffice AutoRecovery", () => {
  it('a new profile: AutoRecovery on, every minute, where LibreOffice 7.4 reads it (Office.Common/Save/Document)', async () => {
    const home = testRoot('cloison-lorecover13-');
    await seedOfficeProfile(shellLauncher(home), APPS);
    const xcu = readFileSync(profile(home), 'utf8');
    expect(xcu).toContain(ON);
    expect(xcu).toContain(EVERY_MINUTE);
    // Not the Office.Recovery/AutoSave keys: LibreOffice 7.4 reads nothing there (no copy written).
    expect(xcu).not.toContain('Office.Recovery');
    expect(xcu).toMatch(/ShowTipOfTheDay/);
  });

  it('an older profile gets the recovery settings added once, its own settings kept; a second start changes nothing', async () => {
    const home = homeWith(OLD);
    await seedOfficeProfile(shellLauncher(home), APPS);
    const once = readFileSync(profile(home), 'utf8');
    expect(once).toContain(ON);
    expect(once).toContain(EVERY_MINUTE);
    expect(once).toContain('ShowTipOfTheDay');
    expect(once.trimEnd().endsWith('</oor:items>')).toBe(true);
    expect(once.match(/AutoSaveTimeIntervall/g)).toHaveLength(1);
    await seedOfficeProfile(shellLauncher(home), APPS);
    expect(readFileSync(profile(home), 'utf8')).toBe(once);
  });

  it('a profile holding only the inert Office.Recovery/AutoSave keys (the first attempt) gets the working ones', async () => {
    const home = homeWith(oldWith('<item oor:path="/org.openoffice.Office.Recovery/AutoSave"><prop oor:name="TimeIntervall" oor:op="fuse"><value>1</value></prop></item>'));
    await seedOfficeProfile(shellLauncher(home), APPS);
    const xcu = readFileSync(profile(home), 'utf8');
    expect(xcu).toContain(ON);
    expect(xcu).toContain(EVERY_MINUTE);
  });

  it("a user's own choice is kept: off (the Options dialog's unticked box), or another interval", async () => {
    // As LibreOffice 7.4 writes the box unticked (seen in a cage: the value written, false).
    const off = oldWith(`${DOCUMENT}<prop oor:name="AutoSave" oor:op="fuse"><value>false</value></prop></item>`, EVERY_MINUTE);
    const home = homeWith(off);
    await seedOfficeProfile(shellLauncher(home), APPS);
    expect(readFileSync(profile(home), 'utf8')).toBe(off);
    const fifteen = oldWith(`${DOCUMENT}<prop oor:name="AutoSaveTimeIntervall" oor:op="fuse"><value>15</value></prop></item>`);
    const other = homeWith(fifteen);
    await seedOfficeProfile(shellLauncher(other), APPS);
    expect(readFileSync(profile(other), 'utf8')).toBe(fifteen);
  });

  it('a link in place of the file is left alone', async () => {
    const linked = testRoot('cloison-lorecover13-');
    mkdirSync(join(linked, '.config/libreoffice/4/user'), { recursive: true });
    symlinkSync(join(linked, 'elsewhere'), profile(linked));
    await seedOfficeProfile(shellLauncher(linked), APPS);
    expect(lstatSync(profile(linked)).isSymbolicLink()).toBe(true);
    expect(existsSync(join(linked, 'elsewhere'))).toBe(false);
  });
});
