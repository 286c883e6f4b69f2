/**
 * The cages' keyboard layout, followed: the policy's (else the display's, else the host's) set on every bwrap cage as
 * it starts, and on the running ones at once when a reload changes it (shells show it at their
 * next description). Each setting is journaled, a failure with its reason. `tools`: the cage
 * manager's X tools when the supervisor is the `cloison` part (cageManager/remoteXTools.ts).
 */
import type { KeyboardLayoutView } from '../../shared/keyboardLayout';
import type { CageDriver } from '../cages/cageDriver';
import type { CageXTools } from '../clipboard/cageXTools';
import type { CageLifecycle } from '../cages/cageLifecycle';
import type { RunningPolicy } from '../policy/runningPolicy';
import { keepCageKeymaps } from './cageKeymap';
import { resolveKeyboardLayout, type KeyboardPolicy } from './keyboardLayout';

export function followKeyboardLayout(
  policy: RunningPolicy,
  cages: ReadonlyMap<string, CageLifecycle>,
  driverOf: (level: string) => CageDriver | undefined,
  fact: (kind: string, fields: Record<string, string>) => void,
  tools?: CageXTools,
  /** The layout of the display the shell opened on (npm start's --display-keyboard), read once at start. */
  display?: KeyboardPolicy,
): () => KeyboardLayoutView {
  let keyboard = resolveKeyboardLayout(policy.current().keyboard, undefined, display);
  const layout = () => keyboard;
  const setKeymaps = keepCageKeymaps(cages, driverOf, layout, (level, err) =>
    fact(err ? 'cage.keymap-failed' : 'cage.keymap', { level, ...keyboard, ...(err ? { detail: err.message } : {}) }),
    tools,
  );
  policy.onChange((next, previous) => {
    if (JSON.stringify(next.keyboard) === JSON.stringify(previous.keyboard)) return;
    keyboard = resolveKeyboardLayout(next.keyboard, undefined, display);
    setKeymaps();
  });
  return layout;
}
