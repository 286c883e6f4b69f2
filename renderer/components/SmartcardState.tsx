/**
 * The smart card in a level's band button: ▣ while this level has the card (exclusive mode, from
 * the supervisor's broker, never from a cage) — so the user knows which level may sign; ▢ on each
 * level the card is for while it is out of the reader (its sessions ended).
 */
import { textFor } from '../i18n';
import { useShellState } from '../shellContext';

export function SmartcardState({ level }: { level: string }) {
  const holder = useShellState((s) => (s.smartcard?.exclusive ? s.smartcard.holder : null));
  const absent = useShellState((s) => s.smartcard?.present === false && s.smartcard.levels.some((l) => l.level === level));
  const t = textFor(useShellState((s) => s.locale)).smartcard;
  if (absent) {
    return (
      <span className="band__card band__card--absent" data-testid={`smartcard-absent-${level}`} title={t.removed}>
        ▢ <span className="band__word">{t.absent}</span>
      </span>
    );
  }
  if (holder !== level) return null;
  return (
    <span className="band__card" data-testid={`smartcard-${level}`} title={t.holder}>
      ▣ <span className="band__word">{t.card}</span>
    </span>
  );
}
