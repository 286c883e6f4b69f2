/**
 * The cage's LibreOffice profile gets AutoRecovery every minute (officeFirstStart.ts): a new profile
 * with it, an older profile (made before, no AutoSave setting) with it added once, a user's own choice
 * kept, a link in place of the file left alone. The seeding script run by a plain shell with its own
 * HOME, as the cage's launcher runs it (the real cage: supervisor/apps/officeRecovery.test.ts).
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
const OLD = '<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry">\n<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="ShowTipOfTheDay" oor:op="fuse"><value>false</value></prop></item>\n</oor:items>\n';

describe("the cage's LibreOffice AutoRecovery", () => {
  it('a new profile: AutoSave on, every minute, recovery copies only (no saving of the user files)', async () => {
    const home = testRoot('cloison-stopnotice12-');
    await seedOfficeProfile(shellLauncher(home), APPS);
    const xcu = readFileSync(profile(home), 'utf8');
    expect(xcu).toContain('<item oor:path="/org.openoffice.Office.Recovery/AutoSave"><prop oor:name="Enabled" oor:op="fuse"><value>true</value>');
    expect(xcu).toContain('<prop oor:name="TimeIntervall" oor:op="fuse"><value>1</value>');
    expect(xcu).toContain('<prop oor:name="UserAutoSaveEnabled" oor:op="fuse"><value>false</value>');
    expect(xcu).toMatch(/ShowTipOfTheDay/);
  });

  it('an older profile gets the recovery settings added once, its own settings kept; a second start changes nothing', async () => {
    const home = testRoot('cloison-stopnotice12-');
    mkdirSync(join(home, '.config/libreoffice/4/user'), { recursive: true });
    writeFileSync(profile(home), OLD);
    await seedOfficeProfile(shellLauncher(home), APPS);
    const once = readFileSync(profile(home), 'utf8');
    expect(once).toContain('<prop oor:name="TimeIntervall" oor:op="fuse"><value>1</value>');
    expect(once).toContain('ShowTipOfTheDay');
    expect(once.trimEnd().endsWith('</oor:items>')).toBe(true);
    expect(once.match(/TimeIntervall/g)).toHaveLength(1);
    await seedOfficeProfile(shellLauncher(home), APPS);
    expect(readFileSync(profile(home), 'utf8')).toBe(once);
  });

  it("a user's own AutoSave choice is kept; a link in place of the file is left alone", async () => {
    const home = testRoot('cloison-stopnotice12-');
    mkdirSync(join(home, '.config/libreoffice/4/user'), { recursive: true });
    const own = OLD.replace('</oor:items>', '<item oor:path="/org.openoffice.Office.Recovery/AutoSave"><prop oor:name="TimeIntervall" oor:op="fuse"><value>15</value></prop></item>\n</oor:items>');
    writeFileSync(profile(home), own);
    await seedOfficeProfile(shellLauncher(home), APPS);
    expect(readFileSync(profile(home), 'utf8')).toBe(own);
    const linked = testRoot('cloison-stopnotice12-');
    mkdirSync(join(linked, '.config/libreoffice/4/user'), { recursive: true });
    symlinkSync(join(linked, 'elsewhere'), profile(linked));
    await seedOfficeProfile(shellLauncher(linked), APPS);
    expect(lstatSync(profile(linked)).isSymbolicLink()).toBe(true);
    expect(existsSync(join(linked, 'elsewhere'))).toBe(false);
  });
});
