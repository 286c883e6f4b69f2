/**
 * The trusted file transfer dialog: a picker over the source cage's home (listed by the
 * supervisor, names with invisible characters made visible), the destination level chosen here —
 * never by a cage —, a written justification towards a lower level, progress with a stop button,
 * then each file's outcome. The supervisor checks the policy and, for `ask`, raises its own
 * confirmation (ConfirmDialog) with the whole picture before anything moves.
 */
import { useEffect, useRef, useState } from 'react';
import type { RpcResult, TransferResult } from '../../shared/rpc';
import { counted, textFor } from '../i18n';
import { errorText, supervisorText } from '../supervisorText';
import { useShell, useShellState } from '../shellContext';
import { levelById } from '../store/shellStore';
import { TrustMarkView } from './TrustMarkView';
import { useDialogKeys } from './dialogKeys';
import { isHiddenPath, shownEntries, type Entry } from './transferEntries';

export function FileTransferDialog() {
  const from = useShellState((s) => s.transferFrom);
  return from ? <TransferCard key={from} from={from} /> : null;
}

function TransferCard({ from }: { from: string }) {
  const { api, store } = useShell();
  const levels = useShellState((s) => s.levels);
  const locale = useShellState((s) => s.locale);
  const trust = useShellState((s) => s.trust);
  const t = textFor(locale);
  const source = levelById(levels, from)!;
  const targets = levels.filter((l) => l.id !== from);
  const [to, setTo] = useState<string>(targets.find((l) => l.rank > source.rank)?.id ?? targets[0]?.id ?? '');
  const [dir, setDir] = useState('');
  const [entries, setEntries] = useState<Entry[]>([]);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [justification, setJustification] = useState('');
  const [phase, setPhase] = useState<'pick' | 'running' | 'done'>('pick');
  const [results, setResults] = useState<TransferResult[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [showHidden, setShowHidden] = useState(false);
  const [progress, setProgress] = useState<{ file: string; doneBytes: number; totalBytes: number } | null>(null);
  useEffect(() => api.on('onTransferProgress', setProgress), [api]);
  // What the policy says of this way (decision, justification, the diode's recipients): the supervisor's words.
  const [rule, setRule] = useState<RpcResult<'files.rule'> | null>(null);
  useEffect(() => {
    let live = true;
    setRule(null);
    if (to) void api.call('files.rule', { from, to }).then((r) => live && setRule(r), () => undefined);
    return () => {
      live = false;
    };
  }, [api, from, to]);
  const needsWhy = rule?.justificationNeeded ?? false;

  useEffect(() => {
    let live = true;
    api.call('files.list', { level: from, path: dir }).then(
      (r) => live && setEntries(r.entries),
      (e: Error) => live && setError(errorText(locale, e)),
    );
    return () => {
      live = false;
    };
  }, [api, from, dir]);

  const toggle = (path: string) =>
    setChosen((prev) => {
      const next = new Set(prev);
      if (next.has(path)) next.delete(path);
      else next.add(path);
      return next;
    });

  const send = async () => {
    if (chosen.size === 0) return setError(t.noFiles);
    setPhase('running');
    setError(null);
    try {
      const r = await api.call('files.transfer', { from, to, paths: [...chosen], ...(needsWhy ? { justification } : {}) });
      setResults(r.results);
    } catch (e) {
      setError(errorText(locale, e));
    }
    setPhase('done');
  };

  // Escape closes it, as its button says, except while files are moving (the button is then
  // « Interrompre », which Escape does not do for the user).
  const card = useRef<HTMLDivElement>(null);
  useDialogKeys(card, { onEscape: phase === 'running' ? null : () => store.getState().closeTransfer() });
  const shown = shownEntries(entries, showHidden);

  const chip = (id: string) => {
    const l = levelById(levels, id)!;
    return (
      <span className="chip" style={{ backgroundColor: l.colour, color: l.textColour }}>
        {l.label[locale]}
      </span>
    );
  };

  return (
    <div ref={card} className="modal" data-testid="transfer-dialog" role="dialog" aria-modal="true">
      <div className="modal__card modal__card--wide">
        <h2 className="modal__title">{t.transferTitle}</h2>
        <TrustMarkView trust={trust} testId="transfer-trust" />
        <div className="crossing">
          <span>{t.from}</span> {chip(from)} <span className="crossing__arrow">→</span> <span>{t.destination}</span>
          {targets.map((l) => (
            <label key={l.id} className="dest">
              <input type="radio" name="dest" data-testid={`transfer-to-${l.id}`} checked={to === l.id} onChange={() => setTo(l.id)} disabled={phase !== 'pick'} />
              {chip(l.id)}
            </label>
          ))}
        </div>
        {phase === 'pick' ? (
          <>
            <div className="picker__path" data-testid="transfer-path">
              <button type="button" className="link" onClick={() => setDir('')}>
                {t.home}
              </button>
              {dir ? ` / ${dir}` : ''}
              <label className="picker__hidden">
                <input type="checkbox" data-testid="transfer-show-hidden" checked={showHidden} onChange={(e) => {
                    const show = e.target.checked;
                    setShowHidden(show);
                    // What is hidden is not sent: a hidden file chosen before is let go.
                    if (!show) setChosen((prev) => new Set([...prev].filter((p) => !isHiddenPath(p))));
                  }} />
                {t.showHidden}
                {!showHidden && shown.hidden > 0 ? <span className="picker__hidden-count"> ({counted(t, shown.hidden, t.hiddenOne, t.hiddenMany)})</span> : null}
              </label>
            </div>
            <div className="files__scroll">
              <table className="files files--picker" data-testid="transfer-entries">
                <tbody>
                  {shown.entries.map((e) => (
                    <tr key={e.path} data-hidden={e.name.startsWith('.') || undefined}>
                      <td>
                        {e.kind === 'file' ? (
                          <input type="checkbox" aria-label={e.name} data-testid={`pick-${e.path}`} checked={chosen.has(e.path)} onChange={() => toggle(e.path)} />
                        ) : null}
                      </td>
                      <td className="files__name">
                        {e.kind === 'dir' ? (
                          <button type="button" className="link" onClick={() => setDir(e.path)}>
                            {e.name}/
                          </button>
                        ) : (
                          e.name
                        )}
                      </td>
                      <td className="files__type">{t.entryKinds[e.kind] ?? e.kind}</td>
                      <td className="files__size">{e.kind === 'file' ? counted(t, e.size, t.byte, t.bytes) : ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {rule?.decision === 'encrypt' ? (
              <div className="crossing__what" data-testid="transfer-encrypted">
                {t.encryptedFor} {rule.encryptTo.map((r) => r.uid).join(', ')}
                {rule.problem ? <div className="modal__error">{supervisorText(locale, rule.problemText, rule.problem)}</div> : null}
              </div>
            ) : null}
            {rule?.decision === 'convert' ? (
              <div className="crossing__what" data-testid="transfer-converted">
                {t.convertedRule}
              </div>
            ) : null}
            {rule?.decision === 'deny' ? (
              <div className="modal__error" data-testid="transfer-denied">
                {t.transferDenied}
              </div>
            ) : null}
            {needsWhy ? (
              <label className="modal__label">
                {t.justificationNeeded}
                <textarea className="modal__input" data-testid="transfer-justification" value={justification} onChange={(e) => setJustification(e.target.value)} maxLength={1000} />
              </label>
            ) : null}
          </>
        ) : null}
        {phase === 'running' ? (
          <div className="crossing__what" data-testid="transfer-running">
            {t.transferring} {progress ? `${progress.file} — ${Math.floor((100 * progress.doneBytes) / Math.max(1, progress.totalBytes))} %` : ''}
            <progress className="progress" max={progress?.totalBytes ?? 1} value={progress?.doneBytes ?? 0} />
          </div>
        ) : null}
        {phase === 'done' ? (
          <ul className="results" data-testid="transfer-results">
            {results.map((r) => (
              <li key={r.path} data-outcome={r.outcome}>
                <span className="files__name">{r.name}</span> — {t.outcomes[r.outcome]}
                {r.landedAs ? ` (${t.landedIn} Incoming/${from}/${r.landedAs}${r.encrypted ? `, ${t.encrypted}` : ''})` : ''}
                {r.reason ? ` : ${supervisorText(locale, r.reasonText, r.reason)}` : ''}
              </li>
            ))}
          </ul>
        ) : null}
        {error ? <div className="modal__error">{error}</div> : null}
        <div className="modal__actions">
          {phase === 'running' ? (
            <button type="button" className="button" data-testid="transfer-cancel" onClick={() => void api.call('files.cancel', {})}>
              {t.cancelTransfer}
            </button>
          ) : (
            <button type="button" className="button" data-testid="transfer-close" onClick={() => store.getState().closeTransfer()}>
              {t.close}
            </button>
          )}
          {phase === 'pick' ? (
            <button type="button" className="button button--primary" data-testid="transfer-send" onClick={() => void send()} disabled={chosen.size === 0 || (needsWhy && justification.trim() === '')}>
              {t.send}
            </button>
          ) : null}
        </div>
      </div>
    </div>
  );
}
