/**
 * The viewer's own check of the trusted page's messages (shellMessage.ts) says yes and no exactly
 * where the protocol's schema does: every valid message of each type, and each of them spoiled one
 * field at a time (a wrong type, out of range, too long, missing, one field too many).
 */
import { describe, expect, it } from 'vitest';
import { shellToViewerSchema } from '../../shared/viewerProtocol';
import { parseShellMessage } from './shellMessage';

const mods = { ctrl: false, alt: true, shift: false, meta: false };
const VALID: Array<Record<string, unknown>> = [
  { type: 'open', url: 'ws://127.0.0.10:4000/vnc?level=low&ticket=abc' },
  { type: 'open', url: '' },
  { type: 'input', enabled: true },
  { type: 'input', enabled: false },
  { type: 'place', place: 'front' },
  { type: 'place', place: 'beside' },
  { type: 'place', place: 'hidden' },
  { type: 'ping' },
  { type: 'key', event: 'keydown', key: 'a', code: 'KeyA', keyCode: 65, location: 0, repeat: false, ...mods },
  { type: 'key', event: 'keyup', key: 'Dead', code: 'BracketLeft', keyCode: 255, location: 3, repeat: true, ...mods },
  { type: 'pointer', event: 'mousemove', x: 10.5, y: -3, button: 0, buttons: 31, ...mods },
  { type: 'pointer', event: 'mousedown', x: 0, y: 0, button: 4, buttons: 0, ...mods },
  { type: 'wheel', x: 1, y: 2, deltaX: -120.5, deltaY: 0, deltaMode: 2 },
];

/** Values that spoil a field, whatever it is. */
const BAD_VALUES: unknown[] = [undefined, null, 'x', 'a'.repeat(33), 'a'.repeat(2049), -1, 0.5, 5, 32, 256, 4, 3, NaN, Infinity, -Infinity, true, {}, [], 'keypress', 'click', 'middle'];

function spoiled(): unknown[] {
  const out: unknown[] = [null, undefined, 'ping', 42, [], [{ type: 'ping' }], {}, { type: 'nope' }, { type: 'PING' }];
  for (const message of VALID) {
    for (const key of Object.keys(message)) {
      const { [key]: _dropped, ...without } = message;
      out.push(without);
      for (const bad of BAD_VALUES) out.push({ ...message, [key]: bad });
    }
    out.push({ ...message, extra: 1 });
    out.push({ ...message, extra: undefined });
    out.push({ ...message, url: 'ws://x' });
    out.push({ ...message, ctrl: false });
  }
  return out;
}

describe("the viewer's check of the trusted page's messages", () => {
  it('takes every valid message as the schema does, the same fields', () => {
    for (const message of VALID) {
      expect(parseShellMessage(message)).toEqual(shellToViewerSchema.parse(message));
    }
  });

  it('refuses exactly what the schema refuses', () => {
    const cases = spoiled();
    expect(cases.length).toBeGreaterThan(500);
    for (const message of cases) {
      const schema = shellToViewerSchema.safeParse(message);
      const mine = parseShellMessage(message);
      expect({ message, accepted: mine !== null }).toEqual({ message, accepted: schema.success });
      if (schema.success) expect(mine).toEqual(schema.data);
    }
  });
});
