/**
 * Test tool: what a cage saw, read from outside: the X key logger a test cage runs (`xinput
 * test-xi2 --root`, line-buffered into its home).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The app line that makes a cage log every raw key event it receives into ~/keylog.txt. */
export const KEY_LOGGER_APP = '[sh, -c, "stdbuf -oL xinput test-xi2 --root > $HOME/keylog.txt"]';

/** X keycodes (evdev) of the raw key presses a cage has seen so far. */
export function rawKeyPresses(home: string): number[] {
  const file = join(home, 'keylog.txt');
  if (!existsSync(file)) return [];
  const codes: number[] = [];
  // One "EVENT type N (Name)" line per event, followed by indented fields, "detail: K" among them.
  for (const event of readFileSync(file, 'utf8').split(/^EVENT /m)) {
    if (!event.includes('(RawKeyPress)')) continue;
    const detail = /^\s+detail: (\d+)/m.exec(event);
    if (detail) codes.push(Number(detail[1]));
  }
  return codes;
}

export const KEYCODE = { x: 53, pause: 127 } as const;

