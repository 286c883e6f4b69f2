/**
 * In the band: what the brokered clipboard holds (source level, which selection, size, age — never
 * the text), and the last outcomes (LevelNotice.tsx): a success for a few seconds; a refusal whole,
 * wrapped, over its level's frame until the user closes it (a reason cut to "the …" and gone in 2 s
 * tells nothing).
 */
import { useEffect, useState } from 'react';
import { counted, textFor } from '../i18n';
import { useShellState } from '../shellContext';
import { levelById } from '../store/shellStore';
import { BandNotices } from './LevelNotice';

export function ClipboardIndicator() {
  const held = useShellState((s) => s.heldClipboard);
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
          {t.clipboard}
          {t.colon}
          <span className="clip__swatch" style={{ backgroundColor: source.colour }} /> {source.label[locale]}
          {held.selection === 'primary' ? ` (${t.selectionShort})` : ''} · {counted(t, held.bytes, t.byte, t.bytes)} · {Math.max(0, Math.round((now - held.heldAt) / 1000))} s
        </span>
      ) : null}
      <BandNotices />
    </div>
  );
}
