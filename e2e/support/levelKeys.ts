/**
 * Keys as the cages see them, for tests typing real keys on a host display (hostDisplay.ts) into
 * two cages that log every raw key press and release their X server receives (keyLogger.ts), and
 * a viewer frame taken over that grabs the focus.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { KEY_LOGGER_APP } from '../../supervisor/testing/keyLogger';
import { launchShellBrowser, startHostDisplay, type HostDisplay, type ShellBrowser } from './hostDisplay';
import { startSupervisor, twoCagePolicy, type SupervisorProcess } from './supervisorProcess';

export interface RawKey {
  down: boolean;
  code: number;
}

/** Keycodes whose last event here is a press: keys the cage's X server holds down (an auto-repeat is presses only). */
export function heldDown(keys: RawKey[]): number[] {
  const down = new Map<number, boolean>();
  for (const k of keys) down.set(k.code, k.down);
  return [...down].filter(([, d]) => d).map(([code]) => code);
}

export function levelKeys(sup: SupervisorProcess, display: HostDisplay, shell: ShellBrowser) {
  /** Every raw key press and release a cage's X server has seen, in order. */
  function rawKeys(level: string): RawKey[] {
    const file = join(sup.homeOf(level), 'keylog.txt');
    if (!existsSync(file)) return [];
    const keys: RawKey[] = [];
    for (const event of readFileSync(file, 'utf8').split(/^EVENT /m)) {
      const down = event.includes('(RawKeyPress)');
      if (!down && !event.includes('(RawKeyRelease)')) continue;
      const detail = /^\s+detail: (\d+)/m.exec(event);
      if (detail) keys.push({ down, code: Number(detail[1]) });
    }
    return keys;
  }

  async function centreOf(page: Page, testId: string): Promise<{ x: number; y: number }> {
    const box = (await page.getByTestId(testId).boundingBox())!;
    return shell.screenPoint(box.x + box.width / 2, box.y + box.height / 2);
  }

  async function frontIs(page: Page, level: string): Promise<void> {
    await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', level);
    await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', level);
  }

  /** Puts `level` in front by a click on its viewer, then types x until its logger has it. */
  async function typingIn(page: Page, level: string): Promise<void> {
    if ((await page.getByTestId('level-band').getAttribute('data-level')) !== level) await display.key('ctrl+alt+Next');
    await frontIs(page, level);
    const centre = await centreOf(page, `viewer-${level}`);
    const before = rawKeys(level).length;
    await expect
      .poll(
        async () => {
          await display.click(centre.x, centre.y);
          await display.key('x');
          await page.waitForTimeout(300);
          return rawKeys(level).slice(before).some((k) => k.down);
        },
        { timeout: 60_000 },
      )
      .toBe(true);
  }

  /**
   * A viewer page taken over (a hostile RFB server of `level` exploiting its viewer) listens for
   * keys and grabs the focus every 100 ms. It starts after `afterMs`: past 5 s, the transient user
   * activation Playwright's evaluate gives the frame is over, and the frame acts with no activation
   * of its own, as it would; at 0 it acts with one (the worst case: the browser lets it). Returns
   * what the frame has received so far, and whether it had an activation. What it receives is told
   * on its console as it comes: the shell may unload the frame, and what reached it before counts.
   */
  async function stealFocusFrom(page: Page, level: string, afterMs = 6000): Promise<() => Promise<{ stolen: string[]; active: boolean[] }>> {
    const handle = await page.getByTestId(`cage-frame-${level}`).locator('iframe').elementHandle();
    const frame = (await handle!.contentFrame())!;
    const tag = `stolen-${Math.random().toString(36).slice(2)}:`;
    const stolen: string[] = [];
    const active: boolean[] = [];
    page.on('console', (message) => {
      const text = message.text();
      if (!text.startsWith(tag)) return;
      const [kind, value] = JSON.parse(text.slice(tag.length)) as [string, unknown];
      if (kind === 'key') stolen.push(value as string);
      else active.push(value as boolean);
    });
    await frame.evaluate(
      ([tag, afterMs]) => {
        window.addEventListener('keydown', (e) => console.log(tag + JSON.stringify(['key', e.key])), { capture: true });
        document.documentElement.tabIndex = 0;
        const grab = () => {
          window.focus();
          document.documentElement.focus();
        };
        setTimeout(() => {
          console.log(tag + JSON.stringify(['active', navigator.userActivation.isActive]));
          grab();
          setInterval(grab, 100);
        }, afterMs);
      },
      [tag, afterMs] as const,
    );
    return async () => {
      await page.waitForTimeout(100); // the frame's last console messages
      return { stolen: [...stolen], active: [...active] };
    };
  }

  return { rawKeys, centreOf, frontIs, typingIn, stealFocusFrom };
}

/** What a level-keys spec types on: set by the spec's beforeAll, stopped by its afterAll. */
export interface LevelKeysBench {
  sup: SupervisorProcess;
  display: HostDisplay;
  shell: ShellBrowser;
  keys: ReturnType<typeof levelKeys>;
}

/**
 * Registers the spec's beforeAll and afterAll: two cages logging their raw keys, a French host
 * display larger than the shell's window, the shell's Chromium on it. The fields are set once
 * beforeAll has run.
 */
export function levelKeysBench(): LevelKeysBench {
  const bench = {} as LevelKeysBench;
  test.beforeAll(async () => {
    test.setTimeout(170_000);
    bench.sup = await startSupervisor(twoCagePolicy({ extraApps: [KEY_LOGGER_APP], extra: 'keyboard: { layout: fr }\n' }));
    bench.display = await startHostDisplay({ layout: 'fr', width: 1400, height: 900 });
    bench.shell = await launchShellBrowser(bench.display, { url: bench.sup.url, width: 1280, height: 800 });
    bench.keys = levelKeys(bench.sup, bench.display, bench.shell);
  });
  test.afterAll(async () => {
    await bench.shell?.close();
    await bench.display?.stop();
    await bench.sup?.stop();
  });
  return bench;
}
