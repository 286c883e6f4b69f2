/**
 * What a cage saw, read from outside: the X key logger each test cage runs (`xinput test-xi2
 * --root`, line-buffered into its home), and the keysyms a VNC endpoint received.
 */
import { RfbClientFilter } from '../../supervisor/gateway/rfbClientFilter';

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
