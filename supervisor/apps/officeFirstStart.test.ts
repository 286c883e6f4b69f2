/**
 * LibreOffice Writer's first start in a real cage (a new home) shows Writer's window and nothing
 * else: no "Tip of the Day" dialog nor any other window over the first document. Read as a user
 * would see it, from the cage's own window list (_NET_CLIENT_LIST, as its window manager keeps it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launcherShell } from '../testing/realCage';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { officeProfileSettings, officeVersion } from '../cages/officeFirstStart';

const POLICY = twoLevelPolicy({
  low: bwrapCage({ uid: 58611 }),
  high: bwrapCage({ uid: 58612, geometry: '1280x800', apps: '[{ id: writer, exec: [libreoffice, --writer], autostart: true }]', limits: 'homeBytes: 256MiB, memoryBytes: 2GiB' }),
});

/** The name of every window the cage's window manager manages, one a line. */
const WINDOW_NAMES = `for w in $(xprop -root _NET_CLIENT_LIST | sed 's/.*#//; s/,/ /g'); do xprop -id "$w" _NET_WM_NAME WM_NAME | head -1 | sed 's/^[^=]*= //'; done`;

describe('LibreOffice at its first start in a cage', () => {
  let t: TestSupervisor;
  beforeAll(async () => {
    t = await startTestSupervisor(POLICY);
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  }, 60_000);

  it('knows the installed version and writes it with the greeting turned off', () => {
    expect(officeVersion()).toMatch(/^\d+\.\d+$/);
    const xcu = officeProfileSettings('7.4');
    expect(xcu).toContain('<prop oor:name="ShowTipOfTheDay" oor:op="fuse"><value>false</value>');
    expect(xcu).toContain('<prop oor:name="ooSetupLastVersion" oor:op="fuse"><value>7.4</value>');
  });

  it('opens Writer alone: no tip of the day, no other dialog', async () => {
    const sh = launcherShell(t.sup.cages.get('high')!.cage!);
    const names = async () => (await sh(WINDOW_NAMES)).stdout.split('\n').filter(Boolean);
    const deadline = Date.now() + 150_000;
    while (!(await names()).some((n) => /LibreOffice Writer/.test(n))) {
      if (Date.now() > deadline) throw new Error(`Writer's window did not appear; windows: ${JSON.stringify(await names())}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    // The tip of the day opens a moment after the document's window: give it time to.
    await new Promise((r) => setTimeout(r, 8000));
    const windows = await names();
    expect(windows, `the cage's windows: ${JSON.stringify(windows)}`).toHaveLength(1);
    expect(windows[0]).toMatch(/LibreOffice Writer/);
    expect((await sh('cat "$HOME/.config/libreoffice/4/user/registrymodifications.xcu"')).stdout).toMatch(/ShowTipOfTheDay/);
  }, 200_000);
});
