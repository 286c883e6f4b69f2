/**
 * The smart card in a level's band button: ▣ while this level has the card (exclusive mode, from
 * the supervisor's broker, never from a cage) — so the user knows which level may sign.
 */
import { textFor } from '../i18n';
import { useShellState } from '../shellContext';

export function SmartcardState({ level }: { level: string }) {
  const holder = useShellState((s) => (s.smartcard?.exclusive ? s.smartcard.holder : null));
  const t = textFor(useShellState((s) => s.locale)).smartcard;
  if (holder !== level) return null;
  return (
    <span className="band__card" data-testid={`smartcard-${level}`} title={t.holder}>
      ▣ {t.card}
    </span>
  );
}
