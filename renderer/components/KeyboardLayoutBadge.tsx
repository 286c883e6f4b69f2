/**
 * The keyboard layout the cages type with, as the supervisor decided it (the policy's, else the
 * host's): in the band, and next to the lock screen's password field, where typing a password
 * on the wrong layout is the mistake it prevents. Never read from a cage.
 */
import { layoutBadge } from '../../shared/keyboardLayout';
import { textFor } from '../i18n';
import { useShellState } from '../shellContext';

export function KeyboardLayoutBadge({ testId }: { testId: string }) {
  const layout = useShellState((s) => s.keyboardLayout);
  const locale = useShellState((s) => s.locale);
  if (!layout) return null;
  const t = textFor(locale);
  const name = layoutBadge(layout);
  return (
    <span className="keyboard-layout" data-testid={testId} data-layout={layout.layout} data-variant={layout.variant} title={`${t.keyboardExplain[layout.source]} : ${layout.layout}${layout.variant ? ` (${layout.variant})` : ''}`} aria-label={`${t.keyboardLayout} ${name}`}>
      ⌨ {name}
    </span>
  );
}
