/**
 * Gives a cage's X server the workstation's keyboard layout, from the trusted side: setxkbmap,
 * run by the supervisor in the X helper sandbox (nothing but /usr and that cage's X socket, a uid
 * of its own, no network: the clipboard's), against the cage's Xvnc. TigerVNC's Xvnc starts with a
 * us keymap of its own and has no option for another.
 *
 * The viewer sends characters as keysyms, which Xvnc types with whatever keymap it has: the layout
 * here is for what the cage's programs read from the keymap itself (shortcuts by key position,
 * the layout an application shows, a dead key an application composes). A cage that changes its
 * own keymap changes nothing the trusted side relies on: the shell never reads it back.
 */
import { requireBinary } from '../system/binaries';
import { BwrapDriver } from '../cages/bwrapDriver';
import type { CageDriver } from '../cages/cageDriver';
import { clipboardHelperArgs, runXHelper } from '../clipboard/xSelection';
import { spawnBwrap } from '../sandbox/bwrapSpawn';
import type { KeyboardLayoutView } from '../../shared/keyboardLayout';
import type { CageXTools } from '../clipboard/cageXTools';

/** Sets the layout of the X server whose socket directory is `x11Dir`. Rejects with setxkbmap's reason. */
export function setCageKeymap(x11Dir: string, layout: Pick<KeyboardLayoutView, 'layout' | 'variant'>, timeoutMs = 10_000): Promise<void> {
  requireBinary('setxkbmap');
  const args = ['setxkbmap', '-option', '', '-layout', layout.layout, '-variant', layout.variant];
  return runXHelper(x11Dir, args, timeoutMs);
}

/**
 * The layout and variant a cage's X server has now (setxkbmap -query, through the same helper).
 * `prefix`: what runs the helper where the socket folder is (a test's `nsenter` into the mount
 * namespace of a cage manager started in one of its own).
 */
export function queryCageKeymap(x11Dir: string, prefix?: string[]): Promise<{ layout: string; variant: string }> {
  const child = spawnBwrap(clipboardHelperArgs(x11Dir, ['setxkbmap', '-query']), { stdio: ['ignore', 'pipe', 'ignore'], ...(prefix ? { prefix } : {}) });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`setxkbmap -query failed (${code})`));
      const field = (name: string) => new RegExp(`^${name}:\\s*(\\S*)`, 'm').exec(out)?.[1] ?? '';
      resolve({ layout: field('layout'), variant: field('variant') });
    });
  });
}

/**
 * Sets the layout on every bwrap cage each time it starts; reports each outcome (error null: set).
 * Returns what sets it again on every running cage (a reload that changed the layout). With `tools`
 * (the `cloison` part: the cage manager's, cageXTools.ts) they set it, on the levels they reach.
 */
export function keepCageKeymaps(
  cages: ReadonlyMap<string, { on(event: 'status', listener: (state: { status: string }) => void): unknown; readonly state: { status: string } }>,
  driverOf: (level: string) => CageDriver | undefined,
  layout: () => KeyboardLayoutView,
  report: (level: string, error: Error | null) => void,
  tools?: Pick<CageXTools, 'unreachable' | 'setKeymap'>,
): () => void {
  const setOn = (level: string): Promise<void> | null => {
    if (tools) return tools.unreachable(level) ? null : tools.setKeymap(level, layout());
    const driver = driverOf(level);
    return driver instanceof BwrapDriver ? setCageKeymap(driver.x11Dir, layout()) : null;
  };
  const apply = (level: string) => {
    // null: an external VNC endpoint, not ours to set (or, through the manager, a cage not running).
    setOn(level)?.then(
      () => report(level, null),
      (err: Error) => report(level, err),
    );
  };
  for (const [level, lifecycle] of cages) {
    lifecycle.on('status', (state) => {
      if (state.status === 'running') apply(level);
    });
  }
  return () => {
    for (const [level, lifecycle] of cages) if (lifecycle.state.status === 'running') apply(level);
  };
}
