/**
 * The trusted confirmation dialog for a crossing (trusted path, property 5): drawn by the shell,
 * it shows source and destination levels in their colours, what crosses (kind, bytes, lines, a
 * preview with invisible characters made visible), and the user's trust phrase. The same dialog
 * asks before a USB key is erased to be marked for a level, or unmarked. It ignores input
 * for its first 500 ms, and the keyboard starts on "Refuse", so a keystroke meant for a cage
 * cannot confirm it. Escape refuses, once armed (dialogKeys.ts); nothing but a click or Enter on
 * the accept button accepts.
 */
import type { ClipboardConfirmRequest, DeviceConfirmRequest, FilesConfirmRequest } from '../../shared/rpc';
import { DeviceIdentity } from './deviceIdentity';
import { useShell, useShellState } from '../shellContext';
import { levelById } from '../store/shellStore';
import { counted, textFor } from '../i18n';
import { supervisorText } from '../supervisorText';
import { TrustMarkView } from './TrustMarkView';
import { useArmedAfter } from './useArmedAfter';
import { useDialogKeys } from './dialogKeys';
import { useRef } from 'react';

export function ConfirmDialog() {
  const request = useShellState((s) => s.confirmation);
  // The card's PIN has a dialog of its own (SmartcardPinDialog.tsx).
  if (!request || request.kind === 'pin') return null;
  // A new question gets a fresh dialog (and a fresh arming delay).
  return <ConfirmCard key={request.id} />;
}

function ConfirmCard() {
  const { api } = useShell();
  const request = useShellState((s) => s.confirmation)!;
  const trust = useShellState((s) => s.trust);
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale);
  const armed = useArmedAfter();
  const answer = (accept: boolean) => {
    if (!armed) return;
    void api.call('confirm.answer', { id: request.id, accept });
  };
  // Escape refuses (after the arming delay, as the buttons): it never accepts.
  const card = useRef<HTMLDivElement>(null);
  useDialogKeys(card, { onEscape: () => answer(false) });
  if (request.kind === 'pin') return null;
  const device = request.kind === 'device' ? request : null;
  const title = device ? (device.action === 'mark' ? t.usb.markTitle : t.usb.unmarkTitle) : request.kind === 'clipboard' ? t.confirmClipboardTitle : t.confirmFilesTitle;
  const acceptLabel = device ? (device.action === 'mark' ? t.usb.markAccept : t.usb.unmarkAccept) : request.kind === 'files' && request.encryptTo ? t.encryptAccept : request.kind === 'files' && request.files.some((f) => f.converted) ? t.convertAccept : t.accept;
  return (
    <div ref={card} className="modal" data-testid="confirm-dialog" data-kind={request.kind} data-armed={armed} role="alertdialog" aria-modal="true">
      <div className="modal__card modal__card--wide">
        <h2 className="modal__title">{title}</h2>
        <TrustMarkView trust={trust} testId="confirm-trust" />
        {request.kind === 'device' ? <DeviceActionWhat request={request} /> : <Crossing request={request} />}
        <div className="modal__actions">
          {/* Not disabled while arming: a disabled button cannot hold the focus it must keep. */}
          <button type="button" className="button" data-testid="confirm-refuse" autoFocus onClick={() => answer(false)}>
            {t.refuseEsc}
          </button>
          <button type="button" className="button button--primary" data-testid="confirm-accept" onClick={() => answer(true)} disabled={!armed}>
            {acceptLabel}
          </button>
        </div>
      </div>
    </div>
  );
}

function LevelChip({ id }: { id: string }) {
  const level = levelById(useShellState((s) => s.levels), id)!;
  const locale = useShellState((s) => s.locale);
  return (
    <span className="chip" style={{ backgroundColor: level.colour, color: level.textColour }}>
      {level.label[locale]}
    </span>
  );
}

/** A crossing between levels: from and to in their colours, its direction, and what crosses. */
function Crossing({ request }: { request: ClipboardConfirmRequest | FilesConfirmRequest }) {
  const t = textFor(useShellState((s) => s.locale));
  return (
    <>
      <div className="crossing" data-testid="confirm-levels">
        <span>{t.from}</span> <LevelChip id={request.from} /> <span className="crossing__arrow">→</span> <span>{t.to}</span> <LevelChip id={request.to} />
        <span className="crossing__direction">({t.direction[request.direction]})</span>
      </div>
      {request.kind === 'clipboard' ? <ClipboardWhat request={request} /> : <FilesWhat request={request} />}
    </>
  );
}

/** Marking or unmarking a key: what the device is, the level, and that its content goes. */
function DeviceActionWhat({ request }: { request: DeviceConfirmRequest }) {
  const t = textFor(useShellState((s) => s.locale)).usb;
  return (
    <>
      {request.level ? (
        <div className="crossing" data-testid="confirm-levels">
          <span>{t.markFor}</span> <LevelChip id={request.level} />
        </div>
      ) : null}
      <DeviceIdentity device={request.device} />
      <p className="crossing__notes" data-testid="confirm-what">
        {request.action === 'mark' ? t.markExplain : t.unmarkExplain}
      </p>
    </>
  );
}

function ClipboardWhat({ request }: { request: ClipboardConfirmRequest }) {
  const t = textFor(useShellState((s) => s.locale));
  return (
    <>
      <div className="crossing__what" data-testid="confirm-what">
        {t.clipboard} · {t.text} · {counted(t, request.what.bytes, t.byte, t.bytes)} · {counted(t, request.what.lines, t.line, t.lines)}
      </div>
      <pre className="preview" data-testid="confirm-preview">{request.what.preview}</pre>
      {request.what.previewOmitted > 0 ? (
        <>
          {/* The shell's words, between the two ends of a long text: nothing hides after the visible part. */}
          <div className="preview__omitted" data-testid="confirm-omitted">
            ⟨… {counted(t, request.what.previewOmitted, t.omittedOne, t.omittedNote)} …⟩
          </div>
          <pre className="preview" data-testid="confirm-preview-tail">{request.what.previewTail}</pre>
        </>
      ) : null}
      <ul className="crossing__notes">
        {request.what.previewTruncated ? <li>{t.truncatedNote}</li> : null}
        {request.what.invisibles > 0 ? <li data-testid="confirm-invisibles">{counted(t, request.what.invisibles, t.invisiblesOne, t.invisiblesNote)}</li> : null}
        {request.what.stripped > 0 ? <li data-testid="confirm-stripped">{counted(t, request.what.stripped, t.strippedOne, t.strippedNote)}</li> : null}
      </ul>
    </>
  );
}

function FilesWhat({ request }: { request: FilesConfirmRequest }) {
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale);
  return (
    <>
      <div className="crossing__what" data-testid="confirm-what">
        {counted(t, request.files.length, t.file, t.files)} · {counted(t, request.totalBytes, t.byte, t.bytes)}
      </div>
      <div className="files__scroll">
        <table className="files" data-testid="confirm-files">
          <tbody>
            {request.files.map((f, i) => (
              <tr key={i}>
                <td className="files__name">{f.name}</td>
                <td className="files__type">{f.type}</td>
                <td className="files__size">{counted(t, f.size, t.byte, t.bytes)}</td>
                {f.converted ? (
                  <td className="files__converted" data-testid="confirm-converted">
                    {t.convertedAs} {f.converted.landAs} · {counted(t, f.converted.pages, t.onePage, t.pages)} · {counted(t, f.converted.size, t.byte, t.bytes)}
                    <div className="files__thumbnails">
                      {/* Drawn by the supervisor from the converted pixels, never from the original. */}
                      {f.converted.thumbnails.map((src, j) => (
                        <img key={j} src={src} alt={`${t.page} ${j + 1}`} data-testid="confirm-thumbnail" />
                      ))}
                    </div>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {request.refused.length > 0 ? (
        <ul className="crossing__notes" data-testid="confirm-refused">
          {request.refused.map((r, i) => (
            <li key={i}>
              {r.name} — {supervisorText(locale, r.reasonText, r.reason)}
            </li>
          ))}
        </ul>
      ) : null}
      {request.files.some((f) => f.converted) ? (
        <div className="crossing__what" data-testid="confirm-convert-note">
          {t.convertedNote}
        </div>
      ) : null}
      {request.encryptTo ? (
        <div className="crossing__what" data-testid="confirm-encrypt-to">
          {t.encryptedNote}
          <ul className="crossing__notes">
            {request.encryptTo.map((r) => (
              <li key={r.fingerprint}>
                {r.uid} — <code>{r.fingerprint}</code>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {request.justification ? (
        <div className="crossing__what" data-testid="confirm-justification">
          {t.justification} : {request.justification}
        </div>
      ) : null}
    </>
  );
}
