/**
 * The smart card's trusted PIN dialog (`smartcard.pin: trusted`, trusted path, property 5): drawn
 * by the shell when a cage's application logs in to the card. It shows the level in its colour (the
 * supervisor's fact), the name the application gives itself (its claim, shown as such) and the
 * user's trust phrase. The PIN is typed here, in the trusted page, which holds the keyboard while
 * the dialog is open (the supervisor gives no cage input meanwhile); it lives in the field until
 * sent, then the field is emptied. It is never put in the store. Escape or Cancel refuses.
 */
import { useRef } from 'react';
import type { PinConfirmRequest } from '../../shared/rpc';
import { useShell, useShellState } from '../shellContext';
import { levelById } from '../store/shellStore';
import { textFor } from '../i18n';
import { TrustMarkView } from './TrustMarkView';
import { useArmedAfter } from './useArmedAfter';
import { useDialogKeys } from './dialogKeys';

export function SmartcardPinDialog() {
  const request = useShellState((s) => (s.confirmation?.kind === 'pin' ? s.confirmation : null));
  if (!request) return null;
  // A new question gets a fresh dialog (an empty field, a fresh arming delay).
  return <PinCard key={request.id} request={request} />;
}

function PinCard({ request }: { request: PinConfirmRequest }) {
  const { api } = useShell();
  const trust = useShellState((s) => s.trust);
  const locale = useShellState((s) => s.locale);
  const level = levelById(useShellState((s) => s.levels), request.level);
  const t = textFor(locale).smartcard;
  const armed = useArmedAfter();
  const field = useRef<HTMLInputElement>(null);
  const card = useRef<HTMLDivElement>(null);

  const submit = () => {
    const input = field.current;
    if (!armed || !input || input.value.length === 0) return;
    const pin = input.value;
    input.value = '';
    void api.call('smartcard.pin', { id: request.id, pin });
  };
  const cancel = () => {
    if (field.current) field.current.value = '';
    void api.call('confirm.answer', { id: request.id, accept: false });
  };
  useDialogKeys(card, { onEscape: cancel });

  return (
    <div ref={card} className="modal" data-testid="pin-dialog" data-armed={armed} role="alertdialog" aria-modal="true">
      <form
        className="modal__card"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <h2 className="modal__title">{t.pinTitle}</h2>
        <TrustMarkView trust={trust} testId="pin-trust" />
        <div className="crossing" data-testid="pin-level">
          <span>{t.pinFor}</span>{' '}
          {level ? (
            <span className="chip" style={{ backgroundColor: level.colour, color: level.textColour }}>
              {level.label[locale]}
            </span>
          ) : null}
        </div>
        <p className="crossing__notes" data-testid="pin-application">
          {t.pinApplication} <q>{request.application}</q>
        </p>
        <p className="crossing__notes">{t.pinExplain}</p>
        <label className="modal__label">
          {t.pinLabel}
          <input ref={field} className="modal__input" data-testid="pin-input" type="password" autoComplete="off" autoFocus maxLength={64} />
        </label>
        <div className="modal__actions">
          <button type="button" className="button" data-testid="pin-cancel" onClick={cancel}>
            {t.pinCancel}
          </button>
          <button type="submit" className="button button--primary" data-testid="pin-submit" disabled={!armed}>
            {t.pinSubmit}
          </button>
        </div>
      </form>
    </div>
  );
}
