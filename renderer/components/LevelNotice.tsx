/**
 * Where the outcome of a user action is drawn, so that it is read as the level's it is about and
 * never another's (issue #26):
 * - a refusal about a level, over that level's own frame (inside its border, under its title
 *   strip), headed by the level's name in its colour, until closed; in single view it waits in
 *   its frame while another level is in front, and is there when the user comes back;
 * - a success, for a few seconds in the band, after a swatch of its level's colour (its text
 *   names the level);
 * - the shell's own refusals (a report, a training answer, the applications list: about no
 *   level), under the band in the middle of the window, in the shell's neutral greys, named
 *   "Cloison": never in a level's colour, never on one side.
 * Every one is the shell's, drawn outside each viewer's clip box; nothing a cage sends chooses
 * its place: the level is the one the action was for, fixed when the user asked.
 */
import { useEffect, useState } from 'react';
import type { LevelView } from '../../shared/rpc';
import { textFor } from '../i18n';
import { useShell, useShellState } from '../shellContext';
import { levelById, SHELL_NOTICE, type Notice } from '../store/shellStore';

const NOTICE_MS = 5000;

/** A refusal about this level, over its frame. */
export function LevelRefusal({ level }: { level: LevelView }) {
  const notice = useShellState((s) => s.notices[level.id]);
  const locale = useShellState((s) => s.locale);
  const { store } = useShell();
  if (notice?.tone !== 'refused') return null;
  const t = textFor(locale);
  return (
    <div className="level-notice" role="alert" data-testid="band-notice" data-level={level.id} style={{ borderColor: level.colour }}>
      <span className="level-notice__level" style={{ backgroundColor: level.colour, color: level.textColour }} data-testid={`notice-level-${level.id}`}>
        {level.label[locale]}
      </span>
      <span className="level-notice__text">{notice.text}</span>
      {/* Closed by the pointer without taking the keyboard from the stage (the cage in front keeps it). */}
      <button type="button" className="level-notice__close" data-testid="band-notice-close" onMouseDown={(e) => e.preventDefault()} onClick={() => store.getState().dismissNotice(level.id)} title={t.dismiss}>
        {t.dismiss}
      </button>
    </div>
  );
}

/** The band's part: the latest success (a few seconds), and the shell's own refusal. */
export function BandNotices() {
  const notices = useShellState((s) => s.notices);
  const levels = useShellState((s) => s.levels);
  const locale = useShellState((s) => s.locale);
  const { store } = useShell();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const latestOk = Object.values(notices)
    .filter((n): n is Notice => n.tone === 'ok')
    .sort((a, b) => b.at - a.at)[0];
  const showing = latestOk !== undefined && now - latestOk.at < NOTICE_MS;
  const shell = notices[SHELL_NOTICE];
  const t = textFor(locale);
  const level = latestOk ? levelById(levels, latestOk.level) : undefined;
  return (
    <>
      {showing && latestOk ? (
        <span className="clip__notice clip__notice--ok" data-testid="band-notice" data-level={latestOk.level ?? ''}>
          {level ? <span className="clip__swatch" style={{ backgroundColor: level.colour }} /> : null} {latestOk.text}
        </span>
      ) : null}
      {shell?.tone === 'refused' ? (
        <div className="shell-notice" role="alert" data-testid="band-notice" data-level="">
          <span className="shell-notice__name">Cloison</span>
          <span className="level-notice__text">{shell.text}</span>
          <button type="button" className="level-notice__close" data-testid="band-notice-close" onMouseDown={(e) => e.preventDefault()} onClick={() => store.getState().dismissNotice(null)} title={t.dismiss}>
            {t.dismiss}
          </button>
        </div>
      ) : null}
    </>
  );
}
