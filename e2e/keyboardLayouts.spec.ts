/**
 * Typing as a French (or English) user does, byte for byte: a host X display with the layout set
 * by setxkbmap (Xvnc, which honours it), the shell's Chromium headful on it as npm start runs it,
 * xdotool pressing the keys a keyboard of that layout has — plain letters, AltGr levels, dead keys,
 * keys whose character only that layout has — into a real cage's terminal, where `cat` writes what
 * it received to a file compared byte by byte with what the user meant to type.
 */
import { expect, test } from '@playwright/test';
import { bwrapCage, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { bwrapCagePaths } from '../supervisor/cages/bwrapDriver';
import { scratchDir } from '../supervisor/cages/cageMounts';
import { queryCageKeymap } from '../supervisor/keyboard/cageKeymap';
import { launchShellBrowser, lockAndShowUnlockBadge, startHostDisplay, typeUntilCageReads, type HostDisplay, type ShellBrowser } from './support/hostDisplay';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

/** One step of typing: text through `xdotool type`, or key names (keysyms) through `xdotool key`. */
type Step = { type: string } | { keys: string[] };

interface LayoutCase {
  layout: string;
  variant?: string;
  steps: Step[];
  /** What the cage must receive, before the final Return. */
  expected: string;
}

const CASES: LayoutCase[] = [
  {
    layout: 'fr',
    steps: [
      { type: 'azerty AZERTY 1234567890 ' },
      // AltGr levels, and the letters the fr keymap has on keys of their own.
      { type: '@#{}[]|\\~€ éèàçù ²µ£§¤ ' },
      // Dead keys: ^e ^o ^u ¨i ¨e, ^ then space, ^ then a letter it does not take.
      { keys: ['dead_circumflex', 'e', 'dead_circumflex', 'o', 'dead_circumflex', 'u', 'dead_diaeresis', 'i', 'dead_diaeresis', 'e', 'dead_circumflex', 'space', 'dead_circumflex', 'E', 'dead_diaeresis', 'I', 'dead_circumflex', 'q'] },
    ],
    expected: 'azerty AZERTY 1234567890 @#{}[]|\\~€ éèàçù ²µ£§¤ êôûïë^ÊÏ^q',
  },
  {
    layout: 'fr',
    variant: 'oss',
    steps: [
      { type: 'azerty ' },
      // AltGr letters of their own, and dead keys on AltGr levels (~ on AltGr+^, ´ on AltGr+ù).
      { type: 'âêîôû æœ€ ' },
      { keys: ['dead_circumflex', 'a', 'dead_diaeresis', 'u', 'dead_tilde', 'n', 'dead_acute', 'e', 'dead_grave', 'a'] },
    ],
    expected: 'azerty âêîôû æœ€ âüñéà',
  },
  {
    layout: 'fr',
    variant: 'bepo',
    steps: [
      { type: 'bépo auie ctsr BÉPO ' },
      // Characters only bépo has on keys: « » — … œ æ ù ê, and its dead keys on AltGr levels.
      { type: '«»—…œæùê ' },
      { keys: ['dead_circumflex', 'o', 'dead_diaeresis', 'i', 'dead_grave', 'a', 'dead_acute', 'e', 'dead_caron', 'c', 'dead_circumflex', 'space'] },
    ],
    expected: 'bépo auie ctsr BÉPO «»—…œæùê ôïàéč^',
  },
  {
    layout: 'us',
    steps: [{ type: 'Hello, World! 1234567890 -=[]\\;\',./`~!@#$%^&*()_+{}|:"<>?' }],
    expected: 'Hello, World! 1234567890 -=[]\\;\',./`~!@#$%^&*()_+{}|:"<>?',
  },
  {
    layout: 'gb',
    steps: [
      { type: 'Hello "quoted" £5 €4 ¬ # ~ @ ' },
      // gb's dead keys are on AltGr: AltGr+' is ^, AltGr+[ is ¨, AltGr+# is `.
      { keys: ['dead_circumflex', 'a', 'dead_diaeresis', 'o', 'dead_grave', 'e'] },
    ],
    expected: 'Hello "quoted" £5 €4 ¬ # ~ @ âöè',
  },
];

/** The low cage's terminal runs cat into a file of its home: what the cage received, as bytes. */
function catCagePolicy(layout: LayoutCase): string {
  const low = bwrapCage({ geometry: '1024x640', apps: '[[xterm, -geometry, 120x40+0+0, -fa, DejaVu Sans Mono, -fs, "12", -e, sh, -c, "cat > $HOME/typed.txt"]]' });
  const keyboard = `keyboard: { layout: ${layout.layout}${layout.variant ? `, variant: ${layout.variant}` : ''} }\n`;
  return twoLevelPolicy({ low, high: bwrapCage() }, keyboard);
}

for (const layout of CASES) {
  const name = `${layout.layout}${layout.variant ? `-${layout.variant}` : ''}`;
  test.describe(`typing on a ${name} keyboard`, () => {
    test.describe.configure({ timeout: 180_000 });
    let sup: SupervisorProcess;
    let display: HostDisplay;
    let shell: ShellBrowser;
    test.beforeAll(async () => {
      // Three steps, each bounding its own waits and saying which one failed (the hook's timeout
      // names none, and its screenshot is of a page the hook never used: blank). Their bounds
      // add up to less than this.
      test.setTimeout(150_000);
      sup = await startSupervisor(catCagePolicy(layout));
      display = await startHostDisplay({ layout: layout.layout, variant: layout.variant, width: 1400, height: 900 });
      shell = await launchShellBrowser(display, { url: sup.url, width: 1280, height: 800 });
    });
    test.afterAll(async () => {
      await shell?.close();
      await display?.stop();
      await sup?.stop();
    });

    test(`every character reaches the cage as typed (${name})`, async () => {
      const { page } = shell;
      await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
      await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', 'low');
      const received = await typeUntilCageReads(shell, display, 'low', sup.homeOf('low'));
      // The layout the trusted side set: in the band, and in the cage's own X server.
      const badge = page.getByTestId('band-keyboard-layout');
      await expect(badge).toHaveAttribute('data-layout', layout.layout);
      await expect(badge).toHaveAttribute('data-variant', layout.variant ?? '');
      // The cage's own X socket folder, where its driver made it (split: the manager's run folder).
      const x11 = scratchDir(bwrapCagePaths(sup.cageStateDir, sup.cageRunDir, 'low').scratch, 'x11');
      await expect.poll(() => queryCageKeymap(x11)).toEqual({ layout: layout.layout, variant: layout.variant ?? '' });
      const before = received().length;
      for (const step of layout.steps) {
        if ('type' in step) await display.type(step.type);
        else await display.key(...step.keys);
      }
      await display.key('Return');
      await expect.poll(() => received().subarray(before).toString('utf8'), { timeout: 10_000 }).toContain('\n');
      const got = received().subarray(before);
      expect(got.toString('utf8')).toBe(`${layout.expected}\n`);
      expect(got.equals(Buffer.from(`${layout.expected}\n`, 'utf8'))).toBe(true);
      await page.screenshot({ path: test.info().outputPath(`typed-${name}.png`) });
    });

    test(`the lock screen's password field shows the layout (${name})`, async () => {
      const { page } = shell;
      // On its own too (run alone, or after the typing test failed): see lockAndShowUnlockBadge.
      const badge = await lockAndShowUnlockBadge(shell, display);
      await expect(badge).toHaveAttribute('data-layout', layout.layout);
      await expect(badge).toHaveAttribute('data-variant', layout.variant ?? '');
      await page.screenshot({ path: test.info().outputPath(`lock-${name}.png`) });
    });
  });
}
