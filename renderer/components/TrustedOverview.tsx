/**
 * The trusted overview, opened by the secure-attention key: every cage shown dimmed and labelled
 * with its level name and colour, the user's trust phrase, and the trusted menu. Drawn by the
 * shell above every viewer; no cage can cover it, and only the user closes it.
 */
import { useRef } from 'react';
import { textFor } from '../i18n';
import { useShell, useShellState } from '../shellContext';
import { TrustMarkView } from './TrustMarkView';
import { LockDelayChoice } from './LockDelayChoice';
import { SoundControls } from './SoundControls';
import { SmartcardControls } from './SmartcardControls';
import { useDialogKeys } from './dialogKeys';

export function TrustedOverview() {
  const { store, api, switchTo, clipboard } = useShell();
  const open = useShellState((s) => s.overviewOpen);
  const levels = useShellState((s) => s.levels);
  const retries = useShellState((s) => s.viewerRetries);
  const front = useShellState((s) => s.front);
  const layout = useShellState((s) => s.layout);
  const trust = useShellState((s) => s.trust);
  const locale = useShellState((s) => s.locale);
  const lock = useShellState((s) => s.lock);
  const audio = useShellState((s) => s.audio);
  const t = textFor(locale);
  const close = () => store.getState().closeOverview();
  const surface = useRef<HTMLDivElement>(null);
  useDialogKeys(surface, { onEscape: close }, open);
  if (!open) return null;
  return (
    <div ref={surface} className="overview" data-testid="trusted-overview" role="dialog" aria-modal="true">
      <div className="overview__panel">
        <div className="overview__title">{t.overviewTitle}</div>
        <TrustMarkView trust={trust} testId="overview-trust" />
        <div className="overview__menu">
          {levels.map((l) => (
            <button
              key={l.id}
              type="button"
              className="overview__item"
              data-testid={`overview-switch-${l.id}`}
              autoFocus={l.id === front}
              style={{ borderLeftColor: l.colour }}
              onClick={() => {
                switchTo(l.id);
                close();
              }}
            >
              {t.switchTo} {l.label[locale]}
              {retries[l.id] !== undefined ? (
                <span className="overview__note" data-testid={`overview-viewer-retry-${l.id}`}>
                  {' '}
                  — {t.viewerRetryingShort}
                </span>
              ) : null}
            </button>
          ))}
          <button
            type="button"
            className="overview__item"
            data-testid="overview-layout"
            onClick={() => {
              store.getState().setLayout(layout === 'split' ? 'single' : 'split');
              close();
            }}
          >
            {layout === 'split' ? t.singleView : t.splitView}
          </button>
          <button type="button" className="overview__item" data-testid="overview-copy" onClick={() => (close(), clipboard.copyOut())}>
            {t.copyFrom} {levels.find((l) => l.id === front)?.label[locale]}
          </button>
          <button type="button" className="overview__item" data-testid="overview-paste" onClick={() => (close(), clipboard.pasteIn())}>
            {t.pasteInto} {levels.find((l) => l.id === front)?.label[locale]}
          </button>
          <button type="button" className="overview__item" data-testid="overview-transfer" onClick={() => front && store.getState().openTransfer(front)}>
            {t.transferFiles} {levels.find((l) => l.id === front)?.label[locale]}
          </button>
          <button type="button" className="overview__item" data-testid="overview-trust-change" onClick={() => store.getState().openTrustDialog('change')}>
            {t.trustChange}
          </button>
          <button type="button" className="overview__item" data-testid="overview-report" onClick={() => store.getState().openReport()}>
            {t.report.open}
          </button>
          <button
            type="button"
            className="overview__item"
            data-testid="overview-lock"
            onClick={() => void api.call('session.lock', {}).then((view) => store.getState().setLock(view), () => undefined)}
          >
            {t.lock.lockNow}
          </button>
          {lock ? <LockDelayChoice lock={lock} /> : null}
          {audio ? <SoundControls audio={audio} /> : null}
          <SmartcardControls />
          <button type="button" className="overview__item overview__item--close" data-testid="overview-close" onClick={close}>
            {t.close}
          </button>
        </div>
      </div>
    </div>
  );
}
