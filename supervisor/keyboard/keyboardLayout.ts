/**
 * The workstation's keyboard layout, as the trusted side knows it: the policy's `keyboard` when it
 * names one, else the layout of the display the shell opened on (npm start reads it there with
 * `setxkbmap -query`, as the shell's user, and starts the supervisor with --display-keyboard;
 * split, the manager hands it to its part in the part's start), else the host's own files'
 * (/etc/default/keyboard, as Debian's installer and `dpkg-reconfigure keyboard-configuration`
 * write it, else `localectl`), else us.
 *
 * The display before the files: it is what the user types with now, set by their session (GNOME
 * or KDE settings, setxkbmap), which the files, the console's and new sessions' default, often do
 * not follow (a host with no /etc/default/keyboard at all showed US on a French keyboard, #26).
 *
 * Never read from a cage: a cage may change its own X keymap (its business), but what the band and
 * the lock screen show, and what the next cage is given, comes from here only.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { KeyboardLayoutView } from '../../shared/keyboardLayout';
import { XKB_NAME } from '../../shared/keyboardLayout';

export interface KeyboardPolicy {
  layout: string;
  variant?: string | undefined;
}

/** Reads KEY="value" lines (a shell-sourced file, as /etc/default/keyboard is). */
function shellVariables(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z_]+)=(?:"([^"]*)"|'([^']*)'|(\S*))\s*$/.exec(line);
    if (m) out[m[1]!] = m[2] ?? m[3] ?? m[4] ?? '';
  }
  return out;
}

/** The first of a comma-separated list (a host may list several layouts: the first is the default). */
const first = (list: string | undefined) => (list ?? '').split(',')[0]!.trim();

export interface HostSources {
  readFile(path: string): string | null;
  localectl(): string | null;
}

const realSources: HostSources = {
  readFile: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  },
  localectl: () => {
    const r = spawnSync('localectl', ['status'], { encoding: 'utf8', timeout: 2000 });
    return r.status === 0 ? r.stdout : null;
  },
};

/** The layout the cages get and the shell shows. `display`: the display's (--display-keyboard). */
export function resolveKeyboardLayout(policy: KeyboardPolicy | undefined, sources: HostSources = realSources, display?: KeyboardPolicy): KeyboardLayoutView {
  if (policy) return { layout: policy.layout, variant: policy.variant ?? '', source: 'policy' };
  if (display && XKB_NAME.test(display.layout) && (!display.variant || XKB_NAME.test(display.variant))) return { layout: display.layout, variant: display.variant ?? '', source: 'display' };
  const file = sources.readFile('/etc/default/keyboard');
  if (file) {
    const vars = shellVariables(file);
    const layout = first(vars.XKBLAYOUT);
    const variant = first(vars.XKBVARIANT);
    if (XKB_NAME.test(layout) && (variant === '' || XKB_NAME.test(variant))) return { layout, variant, source: 'host' };
  }
  const status = sources.localectl();
  if (status) {
    const layout = first(/X11 Layout:\s*(\S+)/.exec(status)?.[1]);
    const variant = first(/X11 Variant:\s*(\S+)/.exec(status)?.[1]);
    if (XKB_NAME.test(layout) && (variant === '' || XKB_NAME.test(variant))) return { layout, variant, source: 'host' };
  }
  return { layout: 'us', variant: '', source: 'default' };
}

