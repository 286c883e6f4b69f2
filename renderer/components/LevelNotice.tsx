/**
 * Where the outcome of a user action is drawn, so that it is read as the level's it is about and
 * never another's (issue #26):
 * - a refusal about a level, in that level's own title strip (the shell's strip above its frame,
 *   outside the viewer's box: the strip grows to the notice's height, the picture below shrinks),
 *   headed by the level's name in its colour, until closed; in single view it waits in its
 *   frame's strip while another level is in front, and is there when the user comes back;
 * - a success, for a few seconds in the band, after a swatch of its level's colour (its text
 *   names the level);
 * - the shell's own refusals (a report, a training answer, the applications list: about no
 *   level), in a strip of the shell's neutral greys right under the band, across the window (the
 *   stage below moves down), named "Cloison": never in a level's colour, never on one side.
 * None is ever drawn over a cage's picture: what lies over a frame's picture is the cage's, and a
 * cage can draw a box like these there itself (the spoof drill's rule: the real band and strips
 * are above the frame). Nothing a cage sends chooses a notice's place: the level is the one the
 * action was for, fixed when the user asked.
 */
import { useEffect, useState } from 'react';
import type { LevelView } from '../../shared/rpc';
import { textFor } from '../i18n';
import { useShell, useShellState } from '../shellContext';
import { levelById, SHELL_NOTICE, type Notice } from '../store/shellStore';

const NOTICE_MS = 5000;

/** A refusal about this level, in its frame's title strip (CageStage.tsx), under the strip's title row. */
export function LevelRefusal({ level }: { level: LevelView }) {
  const notice = useShellState((s) => s.notices[level.id]);
  const locale = useShellState((s) => s.locale);
  if (notice?.tone !== 'refused') return null;
  const t = textFor(locale);
  return (
    <div className="level-notice" role="alert" data-testid="band-notice" data-level={level.id} style={{ borderColor: level.colour }}>
      <span className="level-notice__level" style={{ backgroundColor: level.colour, color: level.textColour }} data-testid={`notice-level-${level.id}`}>
        {level.label[locale]}
      </span>
      <span className="level-notice__text">{notice.text}</span>
      <NoticeClose level={level.id} label={t.dismiss} />
    </div>
  );
}

/** The band's part: the latest success (a few seconds). */
export function BandNotices() {
  const notices = useShellState((s) => s.notices);
  const levels = useShellState((s) => s.levels);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const latestOk = Object.values(notices)
    .filter((n): n is Notice => n.tone === 'ok')
    .sort((a, b) => b.at - a.at)[0];
  const showing = latestOk !== undefined && now - latestOk.at < NOTICE_MS;
  const level = latestOk ? levelById(levels, latestOk.level) : undefined;
  return (
    <>
      {showing && latestOk ? (
        <span className="clip__notice clip__notice--ok" data-testid="band-notice" data-level={latestOk.level ?? ''}>
          {level ? <span className="clip__swatch" style={{ backgroundColor: level.colour }} /> : null} {latestOk.text}
        </span>
      ) : null}
    </>
  );
}

/**
 * The shell's own refusal (about no level): a strip right under the band, across the window, in
 * the shell's greys (App.tsx). It takes its height from the stage, never lies over a frame.
 */
export function ShellNotice() {
  const shell = useShellState((s) => s.notices[SHELL_NOTICE]);
  const locale = useShellState((s) => s.locale);
  if (shell?.tone !== 'refused') return null;
  const t = textFor(locale);
  return (
    <div className="shell-notice" role="alert" data-testid="band-notice" data-level="">
      <span className="shell-notice__name">Cloison</span>
      <span className="level-notice__text">{shell.text}</span>
      <NoticeClose level={null} label={t.dismiss} />
    </div>
  );
}

/**
 * Cloison is stopping (the supervisor's onStopping, never a cage's word): in the shell's strip under
 * the band, never over a frame. How long at most, which levels are still closing their applications,
 * and that one may be asking whether to save: the band still switches levels, the cage in front still
 * gets the keyboard and pointer, so the user can answer it. Not dismissable: it is the state.
 */
export function StopNotice() {
  const stopping = useShellState((s) => s.stopping);
  const levels = useShellState((s) => s.levels);
  const locale = useShellState((s) => s.locale);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!stopping) return undefined;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [stopping]);
  if (!stopping) return null;
  const t = textFor(locale);
  // `now` may predate the notice (the clock ticks only while it shows): never more than the bound.
  const left = Math.min(stopping.seconds, Math.max(0, stopping.seconds - Math.floor((now - stopping.since) / 1000)));
  const closing = stopping.closing.map((id) => levelById(levels, id)).filter((l): l is LevelView => l !== undefined);
  return (
    <div className="shell-notice shell-notice--stopping" role="status" data-testid="stop-notice" data-closing={stopping.closing.join(' ')}>
      <span className="shell-notice__name">Cloison</span>
      <span className="level-notice__text">
        <strong data-testid="stop-notice-title">{closing.length > 0 ? t.stopping(left) : t.stoppingDone}</strong>
        {closing.length > 0 ? (
          <>
            {' '}
            {t.stoppingLevels}{' '}
            {closing.map((l) => (
              <span key={l.id} className="chip stop-notice__level" data-testid={`stop-notice-level-${l.id}`} style={{ backgroundColor: l.colour, color: l.textColour }}>
                {l.label[locale]}
              </span>
            ))}
            <br />
            <span data-testid="stop-notice-hint">{t.stoppingHint}</span>
          </>
        ) : null}
      </span>
    </div>
  );
}

/** A notice's close button: closed by the pointer without taking the keyboard from the stage (the cage in front keeps it). */
function NoticeClose({ level, label }: { level: string | null; label: string }) {
  const { store } = useShell();
  return (
    <button type="button" className="level-notice__close" data-testid="band-notice-close" onMouseDown={(e) => e.preventDefault()} onClick={() => store.getState().dismissNotice(level)} title={label}>
      {label}
    </button>
  );
}
