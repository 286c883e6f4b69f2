/**
 * The stage below the band: one frame per cage, in its level's colour; only the cage in front is
 * visible. The frame is the shell's, outside the viewer's clipped box, so no cage pixel can land
 * on it (trusted path, property 1).
 */
import { useState } from 'react';
import type { LevelView } from '../../shared/rpc';
import { textFor } from '../i18n';
import { useShell, useShellState } from '../shellContext';
import { CageViewer, type ViewerState } from './CageViewer';

export function CageStage() {
  const levels = useShellState((s) => s.levels);
  const front = useShellState((s) => s.front);
  return (
    <main className="stage">
      {levels.map((level) => (
        <CageFrame key={level.id} level={level} front={level.id === front} />
      ))}
    </main>
  );
}

function CageFrame({ level, front }: { level: LevelView; front: boolean }) {
  const [viewer, setViewer] = useState<ViewerState>('idle');
  return (
    <section
      className={`frame${front ? ' frame--front' : ' frame--behind'}`}
      data-testid={`cage-frame-${level.id}`}
      data-front={front}
      data-viewer={viewer}
      aria-hidden={!front}
      style={{ borderColor: level.colour }}
    >
      <div className="frame__clip">
        <CageViewer level={level.id} front={front} onViewerState={setViewer} />
        <StatusOverlay level={level} viewer={viewer} />
      </div>
    </section>
  );
}

function StatusOverlay({ level, viewer }: { level: LevelView; viewer: ViewerState }) {
  const { api } = useShell();
  const cage = useShellState((s) => s.cages[level.id]);
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale);
  const status = cage?.status ?? 'stopped';
  if (status === 'running' && viewer === 'connected') return null;
  let title: string;
  if (status === 'starting') title = t.cageStarting;
  else if (status === 'crashed') title = t.cageCrashed;
  else if (status === 'stopped') title = t.cageStopped;
  else title = viewer === 'unreachable' ? t.cageUnreachable : t.cageStarting;
  const canRetry = status === 'crashed' || status === 'stopped' || viewer === 'unreachable';
  return (
    <div className="overlay" data-testid={`overlay-${level.id}`} data-status={status}>
      <div className="overlay__card" style={{ borderColor: level.colour }}>
        <div className="overlay__level" style={{ color: level.colour }}>
          {t.cage} {level.label[locale]}
        </div>
        <div className="overlay__title">{title}</div>
        {cage?.detail && status !== 'running' ? <pre className="overlay__detail">{cage.detail}</pre> : null}
        {canRetry ? (
          <button type="button" className="overlay__retry" data-testid={`retry-${level.id}`} onClick={() => void api.call('cage.restart', { level: level.id })}>
            {t.retry}
          </button>
        ) : null}
      </div>
    </div>
  );
}
