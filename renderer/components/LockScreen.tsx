/**
 * The lock screen: while the supervisor says the workstation is locked, the window shows this and
 * nothing else — no band colour, no level, no cage frame (the viewers are gone, not covered: the
 * supervisor has closed their connections and issues no ticket, so nothing cached can show).
 *
 * The password prompt appears only after the secure-attention key, which no cage ever receives:
 * a cage that paints a look-alike lock screen cannot react to it, so a user who presses it first
 * never types the password into a cage. The password lives in the field until it is sent, then
 * the field is emptied; it never enters the shell's store.
 */
import { useEffect, useRef, useState } from 'react';
import { counted, textFor } from '../i18n';
import { KeyboardLayoutBadge } from './KeyboardLayoutBadge';
import { errorText } from '../supervisorText';
import { useShell, useShellState } from '../shellContext';
import { TrustMarkView } from './TrustMarkView';
import { useDialogKeys } from './dialogKeys';

/** A prompt left alone goes back to the plain lock screen. */
const PROMPT_IDLE_MS = 30_000;

export function LockScreen() {
  const lock = useShellState((s) => s.lock);
  const prompt = useShellState((s) => s.unlockPrompt);
  const sak = useShellState((s) => s.secureAttentionKey);
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale).lock;
  if (!lock?.locked) return null;
  return (
    <div className="lock" data-testid="lock-screen" data-prompt={prompt}>
      <header className="lock__band" data-testid="lock-band">
        {t.band}
      </header>
      <main className="lock__centre">
        {prompt ? (
          <UnlockPrompt />
        ) : (
          <div className="lock__card" data-testid="lock-instructions">
            <div className="lock__title">{t.title}</div>
            <p className="lock__text">
              {t.pressSak} <kbd className="lock__key">{sak}</kbd>
            </p>
            <p className="lock__why">{t.why}</p>
            {lock.tooManyFailures ? <p className="lock__alert">{t.tooMany}</p> : null}
          </div>
        )}
      </main>
    </div>
  );
}

function UnlockPrompt() {
  const { api, store } = useShell();
  const lock = useShellState((s) => s.lock)!;
  const trust = useShellState((s) => s.trust);
  const locale = useShellState((s) => s.locale);
  const all = textFor(locale);
  const t = all.lock;
  const field = useRef<HTMLInputElement>(null);
  const card = useRef<HTMLFormElement>(null);
  useDialogKeys(card, { onEscape: () => store.getState().closeUnlockPrompt() });
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const waitUntil = useRef(Date.now() + lock.retryInMs);
  const [waitLeft, setWaitLeft] = useState(Math.ceil(lock.retryInMs / 1000));
  const lastInput = useRef(Date.now());

  useEffect(() => {
    waitUntil.current = Date.now() + lock.retryInMs;
    setWaitLeft(Math.ceil(lock.retryInMs / 1000));
  }, [lock.retryInMs, lock.failures]);
  useEffect(() => {
    const tick = setInterval(() => {
      setWaitLeft(Math.max(0, Math.ceil((waitUntil.current - Date.now()) / 1000)));
      if (Date.now() - lastInput.current > PROMPT_IDLE_MS) store.getState().closeUnlockPrompt();
    }, 250);
    return () => clearInterval(tick);
  }, [store]);

  const submit = async () => {
    const input = field.current;
    if (!input || busy || waitLeft > 0) return;
    const password = input.value;
    input.value = '';
    setBusy(true);
    setMessage(null);
    try {
      const view = await api.call('session.unlock', { password });
      store.getState().setLock(view);
      if (view.locked) setMessage(t.wrong);
    } catch (err) {
      setMessage(errorText(locale, err));
    } finally {
      setBusy(false);
    }
  };
  // The field takes the keyboard back once it is enabled again: focused in submit's finally it was
  // still disabled (React had not rendered yet), kept no focus, and a password typed after a
  // refusal went nowhere.
  useEffect(() => {
    if (!busy) field.current?.focus();
  }, [busy]);

  return (
    <form
      ref={card}
      className="lock__card lock__card--prompt"
      data-testid="unlock-prompt"
      onKeyDown={() => {
        lastInput.current = Date.now();
      }}
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <div className="lock__title">{t.promptTitle}</div>
      <TrustMarkView trust={trust} testId="unlock-trust" />
      <label className="modal__label">
        {/* A whole phrase each way: "Mot de passe de" cannot precede a vowel. */}
        {lock.user ? `${t.password} ${lock.user}` : t.noUser}
        <input ref={field} className="modal__input" data-testid="unlock-password" type="password" autoComplete="off" autoFocus maxLength={1024} disabled={busy} />
        <KeyboardLayoutBadge testId="unlock-keyboard-layout" />
      </label>
      {message ? (
        <div className="modal__error" data-testid="unlock-message">
          {message}
        </div>
      ) : null}
      {lock.failures > 0 ? (
        <div className="lock__failures" data-testid="unlock-failures">
          {counted(all, lock.failures, t.failure, t.failures)}
          {waitLeft > 0 ? ` — ${t.retryIn} ${waitLeft} ${t.seconds}` : ''}
        </div>
      ) : null}
      {lock.tooManyFailures ? <p className="lock__alert">{t.tooMany}</p> : null}
      <div className="modal__actions">
        <button type="submit" className="button button--primary" data-testid="unlock-submit" disabled={busy || waitLeft > 0}>
          {t.unlock}
        </button>
      </div>
    </form>
  );
}
