/**
 * The workstation's keyboard layout as the shell shows it (the band, the lock screen's password
 * field): an XKB layout and variant, and where the supervisor took it from.
 */
import { z } from 'zod';

/** An XKB layout or variant name, as in /usr/share/X11/xkb/symbols: no path, no option. */
export const XKB_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export const keyboardLayoutViewSchema = z.object({
  layout: z.string().regex(XKB_NAME),
  variant: z.string().regex(XKB_NAME).or(z.literal('')),
  /**
   * The policy's `keyboard`, the layout of the display the shell opened on (its user's session's,
   * as `npm start` read it there), the host's own files' layout, or the default (us).
   */
  source: z.enum(['policy', 'display', 'host', 'default']),
});
export type KeyboardLayoutView = z.infer<typeof keyboardLayoutViewSchema>;

/** What the band shows: FR, FR·BEPO, GB. */
export function layoutBadge(view: { layout: string; variant: string }): string {
  return view.variant ? `${view.layout.toUpperCase()}·${view.variant.toUpperCase()}` : view.layout.toUpperCase();
}

/**
 * --display-keyboard's value (npm start's, from the display's `setxkbmap -query`, given to the
 * supervisor or the cage manager): LAYOUT or LAYOUT:VARIANT, XKB names only. Null for anything
 * else (the caller refuses it, saying why).
 */
export function parseDisplayKeyboard(value: string): { layout: string; variant: string } | null {
  const [layout = '', variant = '', ...rest] = value.split(':');
  if (rest.length > 0 || !XKB_NAME.test(layout) || (variant !== '' && !XKB_NAME.test(variant))) return null;
  return { layout, variant };
}
