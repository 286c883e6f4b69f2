/**
 * A level's sound in its band button: ♪ while it plays (measured by the supervisor from the bytes
 * that flow, not said by the cage), muted, and ● while it has the microphone — so the user always
 * knows which level is heard and which one listens (trusted path, property 2).
 */
import { textFor } from '../i18n';
import { useShellState } from '../shellContext';

export function SoundState({ level }: { level: string }) {
  const sound = useShellState((s) => s.audio?.levels.find((l) => l.level === level));
  const t = textFor(useShellState((s) => s.locale)).sound;
  if (!sound?.available) return null;
  return (
    <span className="band__sound" data-testid={`sound-${level}`} data-playing={sound.playing} data-muted={sound.muted} data-recording={sound.recording}>
      {sound.muted ? <span title={t.muted}>⊘ <span className="band__word">{t.mutedShort}</span></span> : sound.playing ? <span title={t.playing}>♪</span> : null}
      {sound.recording ? (
        <span className="band__recording" title={t.recording}>
          ● <span className="band__word">{t.mic}</span>
        </span>
      ) : null}
    </span>
  );
}
