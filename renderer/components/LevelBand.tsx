/**
 * The level band: always on top, drawn only by the shell, in the colour of the level in front.
 * Trust rule: its text and colours come only from the policy (trusted path, properties 1 and 2);
 * no cage-supplied string (desktop name, title) is ever rendered here.
 *
 * A level switch re-renders only what names the level (colour, name, switcher): the rest of the
 * band is memoised, so the switch's commit stays small.
 */
import { memo, useLayoutEffect, useRef } from 'react';
import { textFor } from '../i18n';
import { useShell, useShellState } from '../shellContext';
import { levelById } from '../store/shellStore';
import { TrustMarkView } from './TrustMarkView';
import { ClipboardIndicator } from './ClipboardIndicator';
import { DeviceTray } from './DeviceTray';
import { TunnelState } from './TunnelState';
import { SoundState } from './SoundState';
import { SmartcardState } from './SmartcardState';
import { AppLauncherButton } from './AppLauncher';
import { KeyboardLayoutBadge } from './KeyboardLayoutBadge';
import { keepBandFitted } from './bandFit';

// Parts of the band a switch does not change: not rendered again by it.
const Launcher = memo(AppLauncherButton);
const LevelSound = memo(SoundState);
const LevelSmartcard = memo(SmartcardState);

export function LevelBand() {
  const { switchTo } = useShell();
  const levels = useShellState((s) => s.levels);
  const front = useShellState((s) => s.front);
  const confirmed = useShellState((s) => s.confirmedFront);
  const cages = useShellState((s) => s.cages);
  const retries = useShellState((s) => s.viewerRetries);
  const locale = useShellState((s) => s.locale);
  const tunnel = useShellState((s) => (s.front ? s.tunnels[s.front] : undefined));
  const training = useShellState((s) => s.training !== null);
  // Cloison stopping: the levels whose applications are still asked to close (the supervisor's word, onStopping).
  const closing = useShellState((s) => s.stopping?.closing.join(' ') ?? '').split(' ');
  // Levels whose refusal waits in a frame not shown (single view, behind): said on their own button.
  const waiting = useShellState((s) => (s.layout === 'single' && !s.overviewOpen ? s.levels.filter((l) => l.id !== s.front && s.notices[l.id]?.tone === 'refused').map((l) => l.id).join(' ') : ''));
  const t = textFor(locale);
  const level = levelById(levels, front);
  // The band fits its window by giving up words, never controls nor the level's name (bandFit.ts).
  const band = useRef<HTMLElement>(null);
  useLayoutEffect(() => (band.current ? keepBandFitted(band.current) : undefined), []);
  if (!level) return <header ref={band} className="band band--unknown" data-testid="level-band" />;
  return (
    <header
      ref={band}
      className="band"
      data-testid="level-band"
      data-level={level.id}
      data-input-level={confirmed ?? ''}
      style={{ backgroundColor: level.colour, color: level.textColour }}
    >
      {training ? (
        // Drawn by the shell, never by a cage: a training session is never mistaken for real work.
        // On two lines: the band has no room for it on one beside the level, the switcher and the trust phrase.
        <span className="band__training" data-testid="band-training" aria-label="FORMATION / TRAINING">
          <span>FORMATION /</span>
          <span>TRAINING</span>
        </span>
      ) : null}
      <div className="band__level" data-testid="band-level-name">
        <span className="band__caption">{t.level}</span>
        <span className="band__name">{level.label[locale]}</span>
        {tunnel ? <TunnelState tunnel={tunnel} /> : null}
        {level.hostNetwork ? (
          <span className="band__warning" data-testid="band-host-network" title={t.hostNetworkExplain}>
            ⚠ {t.hostNetwork}
          </span>
        ) : null}
      </div>
      <Launcher />
      <nav className="band__switcher" aria-label={t.switchTo}>
        {levels.map((l) => (
          <button
            key={l.id}
            type="button"
            className={`band__button${l.id === front ? ' band__button--front' : ''}`}
            data-testid={`switch-${l.id}`}
            aria-pressed={l.id === front}
            title={`${t.switchTo} ${l.label[locale]}`}
            onClick={() => switchTo(l.id)}
          >
            <span className="band__swatch" style={{ backgroundColor: l.colour }} />
            <span className="band__label">{l.label[locale]}</span>
            <span className="band__status" data-testid={`status-${l.id}`} data-status={closing.includes(l.id) ? 'closing' : (cages[l.id]?.status ?? 'stopped')}>
              {closing.includes(l.id) ? t.closing : t.status[cages[l.id]?.status ?? 'stopped']}
            </span>
            {retries[l.id] !== undefined ? (
              <span className="band__status band__status--retry" data-testid={`viewer-retry-${l.id}`}>
                {t.viewerRetryingShort}
              </span>
            ) : null}
            {waiting.split(' ').includes(l.id) ? (
              <span className="band__status band__status--notice" data-testid={`pending-notice-${l.id}`} title={t.pendingRefusalExplain}>
                ⚠ {t.pendingRefusal}
              </span>
            ) : null}
            <LevelSound level={l.id} />
            <LevelSmartcard level={l.id} />
          </button>
        ))}
      </nav>
      <BandEnd />
    </header>
  );
}

/** The band's right-hand side: the trust phrase, other viewers, clipboard, layout, devices, menu. */
const BandEnd = memo(function BandEnd() {
  const { store } = useShell();
  const levels = useShellState((s) => s.levels);
  const locale = useShellState((s) => s.locale);
  const shortcut = useShellState((s) => s.switchShortcut);
  const sak = useShellState((s) => s.secureAttentionKey);
  const trust = useShellState((s) => s.trust);
  const foreign = useShellState((s) => s.foreignViewers);
  const t = textFor(locale);
  return (
    <>
      <TrustMarkView trust={trust} testId="band-trust" />
      {foreign.length > 0 ? (
        // A viewer this shell did not open is watching a cage: the supervisor knows, the band says.
        <span className="band__warning band__watched" data-testid="band-foreign-viewer" title={t.foreignViewerExplain}>
          ◉ {t.foreignViewer} {foreign.map((id) => levels.find((l) => l.id === id)?.label[locale] ?? id).join(', ')}
        </span>
      ) : null}
      <ClipboardIndicator />
      <KeyboardLayoutBadge testId="band-keyboard-layout" />
      <DeviceTray />
      <div className="band__hint" title={`${t.shortcut} : ${shortcut}`}>
        <button type="button" className="band__menu" data-testid="open-overview" onClick={() => store.getState().openOverview()} title={`${t.menu} (${sak})`} aria-label={`${t.menu} (${sak})`}>
          <span className="band__icon" aria-hidden="true">☰</span>
          <span className="band__label">{t.menuShort}</span> <kbd aria-hidden="true">{sak}</kbd>
        </button>
      </div>
    </>
  );
});
