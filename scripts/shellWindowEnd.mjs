// What npm start says when the shell's Chromium ends on its own (issue #26): the user saw their
// window vanish, or never appear, and npm start end; they need why, in their language, to report it.
// Chromium's output (stdout and stderr, which npm start otherwise never shows) is kept, its last
// lines only, and printed with its exit code or signal.
import { createInterface } from 'node:readline';

/** How many of Chromium's last lines are kept and printed. */
export const SHELL_TAIL_LINES = 20;
/** A line longer than this is cut (a page's console message can be a whole script). */
const LINE_CHARS = 400;
/** How long the last lines are waited for once the browser process has ended (its children may hold the pipe). */
export const TAIL_WAIT_MS = 1000;

/** Keeps the last lines of each stream given, in the order they came. */
export function outputTail(streams, keep = SHELL_TAIL_LINES) {
  const lines = [];
  let open = 0;
  let closed = () => {};
  const allClosed = new Promise((resolve) => (closed = resolve));
  for (const stream of streams) {
    if (!stream) continue;
    open++;
    const reader = createInterface({ input: stream, crlfDelay: Infinity });
    reader.on('line', (line) => {
      lines.push(line.length > LINE_CHARS ? `${line.slice(0, LINE_CHARS)}…` : line);
      if (lines.length > keep) lines.shift();
    });
    reader.on('close', () => {
      if (--open === 0) closed();
    });
  }
  if (open === 0) closed();
  return {
    lines: () => [...lines],
    /** Resolves once every stream has ended, or after `ms`, whichever is first. */
    settled: (ms = TAIL_WAIT_MS) => Promise.race([allClosed, new Promise((resolve) => setTimeout(resolve, ms).unref())]),
  };
}

/**
 * The message for a shell's Chromium that ended by itself: its exit code or signal, whether the
 * shell had been reached yet, and its last lines (null: printed already, Electron's output being
 * npm start's own). `locale`: fr or en (hostShellLocale).
 */
export function shellWindowEndMessage({ code, signal, lines, reachedShell, locale, host = 'Chromium' }) {
  const fr = locale !== 'en';
  const how = signal
    ? fr ? `tué par le signal ${signal}` : `killed by signal ${signal}`
    : fr ? `code de sortie ${code}` : `exit code ${code}`;
  const when = reachedShell
    ? fr ? 'après avoir ouvert Cloison' : 'after it had opened Cloison'
    : fr ? 'avant d’avoir ouvert Cloison' : 'before it had opened Cloison';
  // Status 0: closed, maybe by its user (the waiting window closed), maybe not: said, not called a crash.
  const closed = code === 0 && !signal;
  const head = fr
    ? `la fenêtre de Cloison (${host}) s’est ${closed ? 'fermée' : 'arrêtée d’elle-même'} ${when} (${how}) : npm start arrête tout.`
    : `Cloison's window (${host}) ${closed ? 'closed' : 'ended by itself'} ${when} (${how}): npm start stops everything.`;
  const tail = lines === null
    ? [fr ? `Ce qu’${host} a écrit est au-dessus.` : `What ${host} printed is above.`]
    : lines.length === 0
    ? [fr ? 'Chromium n’a rien écrit.' : 'Chromium printed nothing.']
    : [fr ? `Les dernières lignes écrites par Chromium (${lines.length}) :` : `The last lines Chromium printed (${lines.length}):`, ...lines.map((l) => `  | ${l}`)];
  const report = fr ? 'Joignez ces lignes à votre signalement.' : 'Include these lines when you report it.';
  return [head, ...tail, report].map((l) => `cloison: ${l}`).join('\n') + '\n';
}
