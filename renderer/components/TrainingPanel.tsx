/**
 * The training panel, beside the stage (never over a cage): the scenario's current card and its
 * answers, the outcome of each drill as it ends, where the report went — and the trainer's flow
 * view, the journal drawn live. Shown only in a training session; the band carries the mark.
 */
import type { LevelView } from '../../shared/rpc';
import { textFor } from '../i18n';
import { errorText } from '../supervisorText';
import { useShell, useShellState } from '../shellContext';
import { FlowView } from './FlowView';

export function TrainingPanel() {
  const { api, store } = useShell();
  const training = useShellState((s) => s.training);
  const levels = useShellState((s) => s.levels);
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale).training;
  if (!training) return null;
  const level = (id: string | null): LevelView | undefined => levels.find((l) => l.id === id);
  // The new card comes as an onTraining event; the call only says whether the answer was taken.
  const answer = (id: string) => api.call('training.answer', { id }).catch((err: Error) => store.getState().setNotice(errorText(locale, err), 'refused', null));
  return (
    <aside className="training" data-testid="training-panel" data-phase={training.phase} data-current={training.current}>
      <div className="training__mark">FORMATION / TRAINING</div>
      <div className="training__title">{training.title[locale]}</div>
      <div className="training__progress" data-testid="training-progress">
        {t.trainee} {training.trainee} · {training.phase === 'finished' ? t.finished : `${t.drill} ${Math.min(training.current + 1, training.total)} / ${training.total}`}
      </div>
      {training.card ? (
        <div className="training__card" data-testid="training-card">
          {training.card[locale]}
        </div>
      ) : training.phase === 'starting' ? (
        <div className="training__card training__card--starting" data-testid="training-card">
          {t.starting}
        </div>
      ) : null}
      <div className="training__answers">
        {training.answers.map((a) => {
          const l = level(a.level);
          return (
            <button key={a.id} type="button" className="button" data-testid={`training-answer-${a.id}`} style={l ? { borderLeft: `8px solid ${l.colour}` } : undefined} onClick={() => void answer(a.id)}>
              {a.label[locale]}
            </button>
          );
        })}
      </div>
      {training.results.length > 0 ? (
        <ol className="training__results" data-testid="training-results">
          {training.results.map((r) => (
            <li key={r.index} data-passed={r.passed}>
              {r.passed ? '✓' : '✗'} {t.kinds[r.kind]} — {r.details[locale]}
            </li>
          ))}
        </ol>
      ) : null}
      {training.report ? (
        <div className="training__report" data-testid="training-report">
          {t.report} {training.report}
        </div>
      ) : null}
      <FlowView />
    </aside>
  );
}
