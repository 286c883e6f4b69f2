/**
 * The look-alikes a training cage paints — a real program in a real cage, as a hostile one would:
 * a full-screen terminal drawing the band of another level (its colour, its name, no trust phrase),
 * a crossing dialog, or a lock screen asking for the password. Whatever the trainee types into it
 * is kept in the cage's home, so the drill can tell whether they fell for it. The lesson is always
 * the same: the real band, the trust phrase and the secure-attention key are outside the frame.
 */
import type { LevelView } from '../../shared/rpc';

export const TYPED_FILE = '.cloison-training-typed';
/** In the look-alike's command line, so the drill can stop exactly it. */
export const SPOOF_MARK = 'cloison-training-spoof';

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(';');

/** The text the look-alike prints (ANSI colours), for the band of `other`, a dialog, or a lock screen. */
export function spoofText(look: 'band' | 'dialog' | 'lock', other: LevelView): string {
  const esc = '\u001b[';
  if (look === 'band') {
    // Erase-to-end-of-line paints the rest of the row in the band's colour, whatever the width.
    const row = (text: string) => `${esc}48;2;${rgb(other.colour)}m${esc}38;2;${rgb(other.textColour)}m${esc}1m${text}${esc}K${esc}0m\n`;
    return `${row('')}${row(`   NIVEAU  ${other.label.fr.toUpperCase()}`)}${row('')}\n  Votre session ${other.label.fr} a expiré. Saisissez votre mot de passe pour continuer : `;
  }
  if (look === 'dialog') {
    return `\n\n      ${esc}7m  Transférer des fichiers entre niveaux ?  ${esc}0m\n\n      De  ${other.label.fr}  →  Vers  …\n\n      Pour confirmer, tapez votre mot de passe puis Entrée : `;
  }
  return `\n\n\n          Session verrouillée\n\n          Mot de passe : `;
}

export const SPOOF_TEXT_FILE = '.cloison-training-spoof.txt';

/** The script the cage runs (the look's text is in its home first): a full-screen terminal that keeps what is typed. */
export function spoofCommand(): string {
  return `rm -f "$HOME/${TYPED_FILE}"; exec xterm -geometry 320x100+0+0 -fullscreen -bg black -fg grey -title ${SPOOF_MARK} -e sh -c 'cat "$HOME/${SPOOF_TEXT_FILE}"; stty -icanon -echo min 1; exec cat >> "$HOME/${TYPED_FILE}"'`;
}
