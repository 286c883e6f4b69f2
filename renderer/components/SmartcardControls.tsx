/**
 * The exclusive smart card in the trusted overview: given to one level the policy names and taken
 * back (which ends that level's sessions on it), like the microphone. Shown in exclusive mode, and
 * in either mode while the card is out of the reader (every session on it ended).
 */
import type { SmartcardView } from '../../shared/rpc';
import { textFor } from '../i18n';
import { errorText } from '../supervisorText';
import { useShell, useShellState } from '../shellContext';

export function SmartcardControls() {
  const { api, store } = useShell();
  const card = useShellState((s) => s.smartcard);
  const levels = useShellState((s) => s.levels);
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale).smartcard;
  if (!card) return null;
  const removed = card.present === false ? (
    <div className="sound__row" data-testid="overview-card-removed" role="status">
      {t.removed}
    </div>
  ) : null;
  if (!card.exclusive) return removed ? <div className="sound" data-testid="overview-smartcard"><div className="sound__title">{t.title}</div>{removed}</div> : null;
  // A refusal is about the level the user gave the card to or took it from: drawn over its frame.
  const apply = (call: Promise<SmartcardView>, level: string | null) => call.then((v) => store.getState().setSmartcard(v), (err: Error) => store.getState().setNotice(errorText(locale, err), 'refused', level));
  return (
    <div className="sound" data-testid="overview-smartcard">
      <div className="sound__title">{t.title}</div>
      {removed}
      {card.levels.map((l) => {
        const level = levels.find((x) => x.id === l.level);
        if (!level) return null;
        return (
          <div key={l.level} className="sound__row" style={{ borderLeftColor: level.colour }}>
            <span className="sound__level">{level.label[locale]}</span>
            {card.holder === l.level ? (
              <button type="button" className="button" data-testid={`card-take-${l.level}`} onClick={() => void apply(api.call('smartcard.assign', { level: null }), l.level)}>
                {t.take}
              </button>
            ) : (
              <button type="button" className="button" data-testid={`card-give-${l.level}`} onClick={() => void apply(api.call('smartcard.assign', { level: l.level }), l.level)}>
                {t.give}
              </button>
            )}
          </div>
        );
      })}
    </div>
  );
}
