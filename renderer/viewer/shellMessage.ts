/**
 * The trusted page's messages to a viewer, checked by hand as shared/viewerProtocol.ts's schema
 * says (shellMessage.test.ts holds them to it): the viewer frame loads no schema library, so each
 * of them is ready to be handed its ticket sooner (bench/RESULTS.md, the start path).
 * Anything else — an unknown type, a field too many, a value out of range — is null.
 */
import type { ShellToViewer } from '../../shared/viewerProtocol';

type Fields = Record<string, unknown>;

const MODIFIERS = ['ctrl', 'alt', 'shift', 'meta'] as const;

const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isIntIn = (v: unknown, min: number, max: number): v is number => isNumber(v) && Number.isInteger(v) && v >= min && v <= max;
const isShortString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;

/** Exactly these keys, each present: as zod's .strict() objects with no optional field. */
function hasExactly(m: Fields, keys: readonly string[]): boolean {
  const own = Object.keys(m);
  return own.length === keys.length && keys.every((k) => Object.prototype.hasOwnProperty.call(m, k));
}

export function parseShellMessage(data: unknown): ShellToViewer | null {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const m = data as Fields;
  const ok = (keys: readonly string[], valid: boolean) => (valid && hasExactly(m, keys) ? ({ ...m } as ShellToViewer) : null);
  const mods = MODIFIERS.every((k) => isBool(m[k]));
  switch (m.type) {
    case 'open':
      return ok(['type', 'url'], isShortString(m.url, 2048));
    case 'input':
      return ok(['type', 'enabled'], isBool(m.enabled));
    case 'place':
      return ok(['type', 'place'], m.place === 'front' || m.place === 'beside' || m.place === 'hidden');
    case 'ping':
      return ok(['type'], true);
    case 'key':
      return ok(
        ['type', 'event', 'key', 'code', 'keyCode', 'location', 'repeat', ...MODIFIERS],
        (m.event === 'keydown' || m.event === 'keyup') && isShortString(m.key, 32) && isShortString(m.code, 32) && isIntIn(m.keyCode, 0, 255) && isIntIn(m.location, 0, 3) && isBool(m.repeat) && mods,
      );
    case 'pointer':
      return ok(
        ['type', 'event', 'x', 'y', 'button', 'buttons', ...MODIFIERS],
        (m.event === 'mousedown' || m.event === 'mouseup' || m.event === 'mousemove') && isNumber(m.x) && isNumber(m.y) && isIntIn(m.button, 0, 4) && isIntIn(m.buttons, 0, 31) && mods,
      );
    case 'wheel':
      return ok(['type', 'x', 'y', 'deltaX', 'deltaY', 'deltaMode'], isNumber(m.x) && isNumber(m.y) && isNumber(m.deltaX) && isNumber(m.deltaY) && isIntIn(m.deltaMode, 0, 2));
    default:
      return null;
  }
}
