/**
 * LibreOffice's first start in a cage without its greeting: no "Tip of the Day" dialog over the
 * first document, no "What's new" / "Get involved" / "Donate" infobars, no first-run handling.
 * LibreOffice has no command-line option for them; they are settings of the user's profile, so a
 * cage whose policy lists LibreOffice gets a profile seeded with them before any application starts
 * (its registrymodifications.xcu, only when the profile has none: a user's own settings are kept).
 *
 * The file is written by the cage itself, through its launcher (a cage process, the cage's uid),
 * never by the supervisor into the home: the home is the cage's to shape, and root writing a path
 * the cage chose could be led anywhere by a symbolic link.
 */
import { readFileSync } from 'node:fs';
import type { AppPolicy } from '../../shared/policy';
import type { CageLauncher } from './cageLauncher';

/** LibreOffice's own defaults, where its installed version is written (ooSetupVersion). */
const OFFICE_DEFAULTS = '/etc/libreoffice/registry/main.xcd';
/** The programs that start LibreOffice. */
const OFFICE_PROGRAM = /^(libreoffice|soffice|lowriter|localc|loimpress|lodraw|lomath|lobase)$/;
/** "Get involved" and "Donate" are shown again some months after the time noted: never, here (2100-01-01). */
const NEVER_AGAIN = 4_102_444_800;

/**
 * AutoRecovery every minute. A cage stopped while an application's "save changes?" waits unanswered
 * (the stop's bound passed: appQuitSeconds), or stopped hard (a crash, power lost), loses at most
 * about a minute of typing: the next start's Document Recovery has the rest. Recovery copies only
 * (LibreOffice's own, in its backup folder, named in its recovery list); the user's files are saved
 * only when the user saves.
 *
 * LibreOffice 7.4 (Debian 12) reads this setting from Office.Common/Save/Document (`AutoSave`, off by
 * default; `AutoSaveTimeIntervall`, minutes), as its Options dialog (Load/Save ▸ General, "Save
 * AutoRecovery information every") writes it: found by experiment in a real cage (README, Decisions).
 * The Office.Recovery/AutoSave keys (`Enabled`, `TimeIntervall`) that its schema still lists are read
 * by nothing in 7.4: seeded there, no recovery copy was ever written.
 */
const RECOVERY_PATH = '/org.openoffice.Office.Common/Save/Document';
const RECOVERY_ITEMS = [
  ['AutoSave', true],
  ['AutoSaveTimeIntervall', 1],
] as const;

/**
 * Writes the profile's settings when the profile has none yet (read from standard input). A profile
 * made before AutoRecovery was set here (no AutoSave setting of its own) gets the recovery lines
 * added once; one that has any (the user's own choice in the Options dialog, on or off, or this
 * seeding's) is left as it is. A link in place of the file: left alone.
 */
const SEED_SCRIPT = [
  'd="$HOME/.config/libreoffice/4/user"; f="$d/registrymodifications.xcu"',
  '[ -L "$f" ] && exit 0',
  `if [ -e "$f" ]; then grep -q 'oor:path="${RECOVERY_PATH}"><prop oor:name="AutoSave' "$f" && exit 0; t="$f.cloison.$$"; sed -n "/<!--recovery-->/,/<!--\\/recovery-->/p" > "$t.r" && { sed "/<\\/oor:items>/,\\$d" "$f"; cat "$t.r"; sed -n "/<\\/oor:items>/,\\$p" "$f"; } > "$t" && rm -f "$t.r" && mv "$t" "$f"; exit $?; fi`,
  'mkdir -p "$d" && cat > "$f"',
].join('\n');

export function usesOffice(apps: readonly AppPolicy[]): boolean {
  return apps.some((app) => OFFICE_PROGRAM.test(app.exec[0]!.split('/').pop()!));
}

/** The installed LibreOffice's major.minor ("7.4"), as it compares versions for "What's new"; null if unknown. */
export function officeVersion(defaults = OFFICE_DEFAULTS): string | null {
  try {
    return /<prop oor:name="ooSetupVersion">\s*<value>(\d+\.\d+)<\/value>/.exec(readFileSync(defaults, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** A registrymodifications.xcu turning the first start's greeting off and AutoRecovery on, every minute. */
export function officeProfileSettings(version: string | null): string {
  const item = (path: string, name: string, value: string | number | boolean) => `<item oor:path="${path}"><prop oor:name="${name}" oor:op="fuse"><value>${value}</value></prop></item>`;
  const items = [
    item('/org.openoffice.Office.Common/Misc', 'ShowTipOfTheDay', false),
    item('/org.openoffice.Office.Common/Misc', 'FirstRun', false),
    item('/org.openoffice.Setup/Product', 'LastTimeGetInvolvedShown', NEVER_AGAIN),
    item('/org.openoffice.Setup/Product', 'LastTimeDonateShown', NEVER_AGAIN),
    // "What's new" shows when the running version is newer than the last one the profile saw.
    ...(version ? [item('/org.openoffice.Setup/Product', 'ooSetupLastVersion', version)] : []),
  ];
  // Marked, so that a profile that has its own file already gets these lines alone (SEED_SCRIPT).
  const recovery = ['<!--recovery-->', ...RECOVERY_ITEMS.map(([name, value]) => item(RECOVERY_PATH, name, value)), '<!--/recovery-->'];
  return `<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n${[...items, ...recovery].join('\n')}\n</oor:items>\n`;
}

/** Seeds the cage's LibreOffice profile when its policy lists LibreOffice. */
export async function seedOfficeProfile(launcher: CageLauncher, apps: readonly AppPolicy[]): Promise<void> {
  if (!usesOffice(apps)) return;
  const r = await launcher.run({ argv: ['sh', '-c', SEED_SCRIPT], input: officeProfileSettings(officeVersion()), timeoutMs: 5000 });
  if (r.code !== 0) throw new Error(`the LibreOffice profile was not seeded: ${r.stderr.slice(0, 200)}`);
}
