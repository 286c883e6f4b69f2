/**
 * The trusted confirmation dialog for a crossing (trusted path, property 5): drawn by the shell,
 * it shows source and destination levels in their colours, what crosses (kind, bytes, lines, a
 * preview with invisible characters made visible), and the user's trust phrase. It ignores input
 * for its first 500 ms, and the keyboard starts on "Refuse", so a keystroke meant for a cage
 * cannot confirm it.
 */
import type { ClipboardConfirmRequest, FilesConfirmRequest } from '../../shared/rpc';
import { useShell, useShellState } from '../shellContext';
import { levelById } from '../store/shellStore';
import { textFor } from '../i18n';
import { TrustMarkView } from './TrustMarkView';
import { useArmedAfter } from './useArmedAfter';

export function ConfirmDialog() {
  const request = useShellState((s) => s.confirmation);
  if (!request) return null;
  // A new question gets a fresh dialog (and a fresh arming delay).
  return <ConfirmCard key={request.id} />;
}

function ConfirmCard() {
  const { api } = useShell();
  const request = useShellState((s) => s.confirmation)!;
  const levels = useShellState((s) => s.levels);
  const trust = useShellState((s) => s.trust);
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale);
  const armed = useArmedAfter();
  const from = levelById(levels, request.from)!;
  const to = levelById(levels, request.to)!;
  const answer = (accept: boolean) => {
    if (!armed) return;
    void api.call('confirm.answer', { id: request.id, accept });
  };
  const levelChip = (l: typeof from) => (
    <span className="chip" style={{ backgroundColor: l.colour, color: l.textColour }}>
      {l.label[locale]}
    </span>
  );
  return (
    <div className="modal" data-testid="confirm-dialog" data-armed={armed} role="alertdialog" aria-modal="true">
      <div className="modal__card modal__card--wide">
        <h2 className="modal__title">{request.kind === 'clipboard' ? t.confirmClipboardTitle : t.confirmFilesTitle}</h2>
        <TrustMarkView trust={trust} testId="confirm-trust" />
        <div className="crossing" data-testid="confirm-levels">
          <span>{t.from}</span> {levelChip(from)} <span className="crossing__arrow">→</span> <span>{t.to}</span> {levelChip(to)}
          <span className="crossing__direction">({t.direction[request.direction]})</span>
        </div>
        {request.kind === 'clipboard' ? <ClipboardWhat request={request} /> : <FilesWhat request={request} />}
        <div className="modal__actions">
          {/* Not disabled while arming: a disabled button cannot hold the focus it must keep. */}
          <button type="button" className="button" data-testid="confirm-refuse" autoFocus onClick={() => answer(false)}>
            {t.refuse}
          </button>
          <button type="button" className="button button--primary" data-testid="confirm-accept" onClick={() => answer(true)} disabled={!armed}>
            {t.accept}
          </button>
        </div>
      </div>
    </div>
  );
}

function ClipboardWhat({ request }: { request: ClipboardConfirmRequest }) {
  const t = textFor(useShellState((s) => s.locale));
  return (
    <>
      <div className="crossing__what" data-testid="confirm-what">
        {t.clipboard} · {t.text} · {request.what.bytes} {t.bytes} · {request.what.lines} {t.lines}
      </div>
      <pre className="preview" data-testid="confirm-preview">{request.what.preview}</pre>
      {request.what.previewOmitted > 0 ? (
        <>
          {/* The shell's words, between the two ends of a long text: nothing hides after the visible part. */}
          <div className="preview__omitted" data-testid="confirm-omitted">
            ⟨… {request.what.previewOmitted} {t.omittedNote} …⟩
          </div>
          <pre className="preview" data-testid="confirm-preview-tail">{request.what.previewTail}</pre>
        </>
      ) : null}
      <ul className="crossing__notes">
        {request.what.previewTruncated ? <li>{t.truncatedNote}</li> : null}
        {request.what.invisibles > 0 ? <li data-testid="confirm-invisibles">{request.what.invisibles} {t.invisiblesNote}</li> : null}
        {request.what.stripped > 0 ? <li data-testid="confirm-stripped">{request.what.stripped} {t.strippedNote}</li> : null}
      </ul>
    </>
  );
}

function FilesWhat({ request }: { request: FilesConfirmRequest }) {
  const t = textFor(useShellState((s) => s.locale));
  return (
    <>
      <div className="crossing__what" data-testid="confirm-what">
        {request.files.length} {t.files} · {request.totalBytes} {t.bytes}
      </div>
      <table className="files" data-testid="confirm-files">
        <tbody>
          {request.files.map((f, i) => (
            <tr key={i}>
              <td className="files__name">{f.name}</td>
              <td className="files__type">{f.type}</td>
              <td className="files__size">{f.size} {t.bytes}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {request.refused.length > 0 ? (
        <ul className="crossing__notes" data-testid="confirm-refused">
          {request.refused.map((r, i) => (
            <li key={i}>
              {r.name} — {r.reason}
            </li>
          ))}
        </ul>
      ) : null}
      {request.justification ? (
        <div className="crossing__what" data-testid="confirm-justification">
          {t.justification} : {request.justification}
        </div>
      ) : null}
    </>
  );
}
