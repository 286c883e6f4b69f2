/**
 * Choosing the trust phrase: on first start (cannot be skipped) and, later, only from the trusted
 * overview. The phrase goes to the supervisor, which keeps it outside every cage.
 */
import { useRef, useState } from 'react';
import { TRUST_SYMBOLS, trustPhraseSchema } from '../../shared/trustPhrase';
import { textFor } from '../i18n';
import { errorText } from '../supervisorText';
import { useShell, useShellState } from '../shellContext';
import { useArmedAfter } from './useArmedAfter';
import { useDialogKeys } from './dialogKeys';

export function TrustPhraseDialog() {
  const { api, store } = useShell();
  const kind = useShellState((s) => s.trustDialog);
  const locale = useShellState((s) => s.locale);
  const current = useShellState((s) => s.trust);
  const t = textFor(locale);
  const armed = useArmedAfter();
  const [phrase, setPhrase] = useState('');
  const [symbol, setSymbol] = useState<string | null>(current?.symbol ?? TRUST_SYMBOLS[0]);
  const [error, setError] = useState<string | null>(null);
  const card = useRef<HTMLDivElement>(null);
  // The first phrase cannot be skipped: Escape cancels only a change.
  useDialogKeys(card, { onEscape: kind === 'change' ? () => store.getState().closeTrustDialog() : null }, kind !== null);
  if (!kind) return null;

  const submit = async () => {
    if (!armed) return;
    const parsed = trustPhraseSchema.safeParse(phrase);
    if (!parsed.success) return setError(parsed.error.issues[0]?.message ?? 'invalid');
    try {
      await api.call('trust.set', { phrase: parsed.data, symbol: symbol as (typeof TRUST_SYMBOLS)[number] | null });
      store.getState().setTrust({ phrase: parsed.data, symbol });
      store.getState().closeTrustDialog();
    } catch (err) {
      setError(errorText(locale, err));
    }
  };

  return (
    <div ref={card} className="modal" data-testid="trust-dialog" data-armed={armed} role="dialog" aria-modal="true">
      <form
        className="modal__card"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <h2 className="modal__title">{kind === 'first' ? t.trustFirstTitle : t.trustChangeTitle}</h2>
        <p className="modal__text">{t.trustExplain}</p>
        <label className="modal__label">
          {t.trustPhrase}
          <input
            className="modal__input"
            data-testid="trust-phrase-input"
            autoFocus
            maxLength={60}
            value={phrase}
            onChange={(e) => {
              setPhrase(e.target.value);
              setError(null);
            }}
          />
        </label>
        <div className="modal__label">{t.trustSymbol}</div>
        <div className="symbols" role="radiogroup">
          {TRUST_SYMBOLS.map((s) => (
            <button
              key={s}
              type="button"
              role="radio"
              aria-checked={symbol === s}
              className={`symbols__choice${symbol === s ? ' symbols__choice--chosen' : ''}`}
              onClick={() => setSymbol(s)}
            >
              {s}
            </button>
          ))}
        </div>
        {error ? <div className="modal__error" data-testid="trust-error">{error}</div> : null}
        <div className="modal__actions">
          {kind === 'change' ? (
            <button type="button" className="button" onClick={() => store.getState().closeTrustDialog()}>
              {t.cancelEsc}
            </button>
          ) : null}
          <button type="submit" className="button button--primary" data-testid="trust-save" disabled={!armed}>
            {t.save}
          </button>
        </div>
      </form>
    </div>
  );
}
