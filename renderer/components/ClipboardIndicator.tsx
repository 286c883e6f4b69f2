/**
 * In the band: what the brokered clipboard holds (source level, size, age — never the text), and
 * the last broker outcome for a few seconds.
 */
import { useEffect, useState } from 'react';
import { textFor } from '../i18n';
import { useShellState } from '../shellContext';
import { levelById } from '../store/shellStore';

const NOTICE_MS = 5000;

export function ClipboardIndicator() {
  const held = useShellState((s) => s.heldClipboard);
  const notice = useShellState((s) => s.notice);
  const levels = useShellState((s) => s.levels);
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const source = held ? levelById(levels, held.source) : undefined;
  return (
    <div className="clip" data-testid="band-clipboard">
      {held && source ? (
        <span className="clip__held" data-testid="band-clipboard-held" title={t.clipboard}>
          {t.clipboard} : <span className="clip__swatch" style={{ backgroundColor: source.colour }} /> {source.label[locale]} · {held.bytes} {t.bytes} ·{' '}
          {Math.max(0, Math.round((now - held.heldAt) / 1000))} s
        </span>
      ) : null}
      {notice && now - notice.at < NOTICE_MS ? (
        <span className={`clip__notice clip__notice--${notice.tone}`} data-testid="band-notice">
          {notice.text}
        </span>
      ) : null}
    </div>
  );
}
