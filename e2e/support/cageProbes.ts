/**
 * What a cage saw, read from outside: the X key logger each test cage runs (`xinput test-xi2
 * --root`, line-buffered into its home), and the keysyms a VNC endpoint received.
 */
import { expect, type Page } from '@playwright/test';
import { RfbClientFilter } from '../../supervisor/gateway/rfbClientFilter';
import { KEYCODE, rawKeyPresses } from '../../supervisor/testing/keyLogger';

export { KEY_LOGGER_APP, KEYCODE, rawKeyPresses } from '../../supervisor/testing/keyLogger';

/** The keysyms of every key press in a captured client→server RFB stream. */
export function keysymsIn(stream: Buffer): number[] {
  const keysyms: number[] = [];
  const parser = new RfbClientFilter({
    inputAllowed: () => true,
    keyFilter: (keysym, down) => {
      if (down) keysyms.push(keysym);
      return true;
    },
  });
  parser.push(stream);
  return keysyms;
}

/** Types `x` into a cage's viewer until its key logger shows it (the cage may still be starting). */
export async function typeUntilLogged(page: Page, level: string, home: string): Promise<void> {
  await expect
    .poll(
      async () => {
        await page.getByTestId(`viewer-${level}`).click({ position: { x: 300, y: 300 } });
        await page.keyboard.press('x');
        await page.waitForTimeout(200);
        return rawKeyPresses(home).includes(KEYCODE.x);
      },
      { timeout: 20_000 },
    )
    .toBe(true);
}
