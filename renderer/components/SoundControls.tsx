/**
 * Sound in the trusted overview: each level's mute and volume — the shell's controls, which no
 * cage can reach — and the microphone, given to one level the policy allows and taken back
 * before another may have it. Where the host has no sound server, says so.
 */
import type { AudioView } from '../../shared/rpc';
import { textFor } from '../i18n';
import { errorText } from '../supervisorText';
import { useShell, useShellState } from '../shellContext';

export function SoundControls({ audio }: { audio: AudioView }) {
  const { api, store } = useShell();
  const levels = useShellState((s) => s.levels);
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale).sound;
  // A refusal is about the level whose sound or microphone the user set: drawn over its frame.
  const apply = (call: Promise<AudioView>, level: string | null) => call.then((v) => store.getState().setAudio(v), (err: Error) => store.getState().setNotice(errorText(locale, err), 'refused', level));
  if (!audio.enabled) return null;
  return (
    <div className="sound" data-testid="overview-sound">
      <div className="sound__title">{t.title}</div>
      {audio.host.state !== 'connected' ? <div className="sound__note" data-testid="sound-host">{audio.host.reasonText?.[locale] ?? audio.host.reason}</div> : null}
      {audio.levels
        .filter((l) => l.available)
        .map((l) => {
          const level = levels.find((x) => x.id === l.level);
          if (!level) return null;
          return (
            <div key={l.level} className="sound__row" style={{ borderLeftColor: level.colour }}>
              <span className="sound__level">{level.label[locale]}</span>
              <label>
                <input type="checkbox" data-testid={`sound-mute-${l.level}`} checked={l.muted} onChange={(e) => void apply(api.call('audio.set', { level: l.level, muted: e.target.checked }), l.level)} /> {t.muted}
              </label>
              <input type="range" min={0} max={100} step={5} value={l.volume} aria-label={t.volume} data-testid={`sound-volume-${l.level}`} onChange={(e) => void apply(api.call('audio.set', { level: l.level, volume: Number(e.target.value) }), l.level)} />
              {l.micAllowed ? (
                audio.microphone === l.level ? (
                  <button type="button" className="button" data-testid={`mic-release-${l.level}`} onClick={() => void apply(api.call('audio.microphone', { level: null }), l.level)}>
                    {t.release}
                  </button>
                ) : (
                  <button type="button" className="button" data-testid={`mic-give-${l.level}`} disabled={audio.microphone !== null} onClick={() => void apply(api.call('audio.microphone', { level: l.level }), l.level)}>
                    {t.give}
                  </button>
                )
              ) : null}
            </div>
          );
        })}
    </div>
  );
}
