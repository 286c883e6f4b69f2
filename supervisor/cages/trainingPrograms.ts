/**
 * The programs the training drills run in a cage, here below both the drills (training/) and the
 * cage manager's training requests (cageManager/), which build them alike.
 *
 * The look-alikes a training cage paints — a real program in a real cage, as a hostile one would:
 * a full-screen terminal drawing the band of another level (its colour, its name, no trust phrase),
 * a crossing dialog, or a lock screen asking for the password. The lesson is always the same: the
 * real band, the trust phrase and the secure-attention key are outside the frame.
 *
 * It is started through the cage's launcher (cageLauncher.ts), so it is a true cage process, and it
 * keeps nothing: what the trainee types is read and dropped (it may be their real password, and a
 * low cage must not keep it); the drill counts the keys on the gateway's side instead. It reads no
 * configuration the cage controls: its text comes in its arguments, not from a file in the home;
 * its home is a folder the cage cannot write, so no ~/.Xdefaults, ~/.Xdefaults-HOST or ~/XTerm is
 * read; and the resources that run programs (the printer command, autoprint, key bindings) are
 * pinned on its command line under its own instance name, which outranks whatever the cage puts on
 * its display (X offers no way to ignore the display's RESOURCE_MANAGER).
 */
import type { LevelView } from '../../shared/rpc';
import { onLaunchedExit, stopLaunched, type LaunchedProgram, type LaunchRequest, type RunRequest } from './cageLauncher';
import type { RunningCage } from './cageDriver';

/** In the look-alike's command line (its title), so tests can find exactly it. */
export const SPOOF_MARK = 'cloison-training-spoof';
/** Its X instance name: resources given under it outrank any the cage gives by class or wildcard. */
const INSTANCE = 'cloisonTrainingSpoof';
/** Root's inside the cage (bwrap's /run): no file of the cage's can be found from there. */
const UNWRITABLE_HOME = '/run';

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

/** Resources that could run a program, pinned (xterm's printer is off when its command is empty). */
const PINNED_RESOURCES = [
  `${INSTANCE}.vt100.printerCommand:`,
  `${INSTANCE}.vt100.printerControlMode: 0`,
  `${INSTANCE}.vt100.translations: #override`,
  `${INSTANCE}.vt100.baseTranslations: #override`,
  `${INSTANCE}.vt100.allowSendEvents: false`,
  `${INSTANCE}.vt100.allowWindowOps: false`,
  // Logging may pipe into a command where xterm allows it; a forced locale filter (luit) is a program.
  `${INSTANCE}.vt100.logInhibit: true`,
  `${INSTANCE}.locale: medium`,
];

/** The look-alike: a full-screen terminal that prints `text` and then drops whatever is typed. */
export function spoofProgram(text: string): LaunchRequest {
  return {
    argv: [
      'xterm', '-name', INSTANCE, '-geometry', '320x100+0+0', '-fullscreen', '-bg', 'black', '-fg', 'grey', '-title', SPOOF_MARK,
      ...PINNED_RESOURCES.flatMap((r) => ['-xrm', r]),
      '-e', 'sh', '-c', 'printf "%s" "$1"; stty -icanon -echo min 1; exec cat > /dev/null', 'sh', text,
    ],
    env: { HOME: UNWRITABLE_HOME, XENVIRONMENT: '/dev/null', XUSERFILESEARCHPATH: '/dev/null', XAPPLRESDIR: UNWRITABLE_HOME },
  };
}

/** Kills the look-alike's process group (the terminal, its shell, its reader) and waits for it to go. */
export async function stopLookAlike(cage: RunningCage, program: LaunchedProgram): Promise<void> {
  let off = () => undefined as unknown;
  const gone = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 3000);
    off = onLaunchedExit(cage, (p) => {
      if (p.pid !== program.pid) return;
      clearTimeout(timer);
      resolve();
    });
  });
  const signalled = await stopLaunched(cage, program.pid, 'SIGKILL').catch(() => false);
  if (signalled) await gone;
  off();
}

/** The right-level drill's document: the cage's own shell writes `content` to ~/Formation/`name` (a plain file name, checked by the scenario's schema). */
export function documentWriter(name: string, content: string): RunRequest {
  return { argv: ['sh', '-c', 'mkdir -p "$HOME/Formation" && cat > "$HOME/Formation/$1"', 'sh', name], input: content };
}
