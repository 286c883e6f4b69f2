/**
 * Text the supervisor sanitised, with its ⟨U+XXXX⟩ markers (controls, invisible and direction
 * characters) drawn as marked chips, so a marker never reads as ordinary text.
 */
const MARKER = /(⟨U\+[0-9A-F]{4,6}⟩)/u;

export function VisibleText({ text }: { text: string }) {
  return (
    <>
      {text.split(MARKER).map((part, i) =>
        i % 2 === 1 ? (
          <span key={i} className="invisible-mark" title="caractère invisible ou de contrôle / invisible or control character">
            {part.slice(1, -1)}
          </span>
        ) : (
          part
        ),
      )}
    </>
  );
}
