/**
 * "Report an anomaly": a trusted dialog (the trust phrase, deaf for its first 500 ms) where the
 * user says in a few words what looked wrong — a band or dialog inside a frame, a strange request.
 * The supervisor journals it with the level in front, for the site to collect.
 */
import { useRef, useState } from 'react';
import { textFor } from '../i18n';
import { errorText } from '../supervisorText';
import { useShell, useShellState } from '../shellContext';
import { TrustMarkView } from './TrustMarkView';
import { useArmedAfter } from './useArmedAfter';
import { useDialogKeys } from './dialogKeys';

export function ReportDialog() {
  const open = useShellState((s) => s.reportOpen);
  return open ? <ReportCard /> : null;
}

function ReportCard() {
  const { api, store } = useShell();
  const trust = useShellState((s) => s.trust);
  const all = textFor(useShellState((s) => s.locale));
  const t = all.report;
  const armed = useArmedAfter();
  const [text, setText] = useState('');
  const card = useRef<HTMLDivElement>(null);
  // Escape cancels, as « Annuler (Échap) » says: nothing is sent.
  useDialogKeys(card, { onEscape: () => store.getState().closeReport() });
  const send = () => {
    if (!armed) return;
    store.getState().closeReport();
    api.call('report.anomaly', { text }).then(
      () => store.getState().setNotice(t.sent, 'ok', null),
      (err: Error) => store.getState().setNotice(errorText(store.getState().locale, err), 'refused', null),
    );
  };
  return (
    <div ref={card} className="modal" data-testid="report-dialog" data-armed={armed} role="dialog" aria-modal="true">
      <form
        className="modal__card"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <h2 className="modal__title">{t.title}</h2>
        <TrustMarkView trust={trust} testId="report-trust" />
        <p className="modal__text">{t.explain}</p>
        <label className="modal__label">
          {t.what}
          <textarea className="modal__input" data-testid="report-text" autoFocus maxLength={280} value={text} onChange={(e) => setText(e.target.value)} />
        </label>
        <div className="modal__actions">
          <button type="button" className="button" onClick={() => store.getState().closeReport()}>
            {all.cancelEsc}
          </button>
          <button type="submit" className="button button--primary" data-testid="report-send" disabled={!armed}>
            {t.send}
          </button>
        </div>
      </form>
    </div>
  );
}
