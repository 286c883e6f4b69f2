/**
 * Finds the host programs cages need and names the Debian package for any that is missing, so a
 * missing binary gives "Xvnc not found: install tigervnc-standalone-server", not a stack trace.
 *
 * Every program the supervisor runs is in this table; a test keeps it, scripts/setup.sh and the
 * .deb's depends in step (deploy/requiredPrograms.test.ts).
 */
import { bilingual } from '../../shared/bilingual';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CloisonError } from '../../shared/errors';

export const DEBIAN_PACKAGE_OF: Record<string, string> = {
  bwrap: 'bubblewrap',
  Xvnc: 'tigervnc-standalone-server',
  slirp4netns: 'slirp4netns',
  openbox: 'openbox',
  xterm: 'xterm',
  xedit: 'x11-apps',
  xwd: 'x11-apps',
  xclip: 'xclip',
  setpriv: 'util-linux',
  xprop: 'x11-utils',
  xrandr: 'x11-xserver-utils',
  xsetroot: 'x11-xserver-utils',
  // whether the machine is shutting down when the service is stopped (cageManager/keptCagesStop.ts)
  systemctl: 'systemd',
  // a cage's applications asked to quit before it stops (supervisor/apps/appQuit.ts)
  wmctrl: 'wmctrl',
  // a cage's user folders in its language, made by its session (supervisor/cages/bwrapDriver.ts)
  'xdg-user-dirs-update': 'xdg-user-dirs',
  // a cage's applications open a document in the level's default application (cageMimeApps.ts)
  'xdg-open': 'xdg-utils',
  blkid: 'util-linux',
  blockdev: 'util-linux',
  mount: 'mount',
  umount: 'mount',
  losetup: 'mount',
  fallocate: 'util-linux',
  sync: 'coreutils',
  cp: 'coreutils',
  'mkfs.ext4': 'e2fsprogs',
  e2fsck: 'e2fsprogs',
  resize2fs: 'e2fsprogs',
  // scripts/startCtrlC.test.ts reads what an application wrote in a cage's home image, unmounted
  debugfs: 'e2fsprogs',
  udevadm: 'udev',
  logger: 'bsdutils',
  pamtester: 'pamtester',
  gpg: 'gpg',
  wg: 'wireguard-tools',
  pulseaudio: 'pulseaudio',
  pactl: 'pulseaudio-utils',
  pacat: 'pulseaudio-utils',
  parec: 'pulseaudio-utils',
  mkfifo: 'coreutils',
  truncate: 'coreutils',
  chown: 'coreutils',
  du: 'coreutils',
  pkill: 'procps',
  'wireguard-go': 'wireguard-go',
  ip: 'iproute2',
  ss: 'iproute2',
  nsenter: 'util-linux',
  gpgconf: 'gpgconf',
  dd: 'coreutils',
  getent: 'libc-bin',
  busctl: 'systemd',
  'systemd-inhibit': 'systemd',
  sh: 'dash',
  // the default policy's applications (supervisor/policy/defaultPolicy.ts)
  'firefox-esr': 'firefox-esr',
  libreoffice: 'libreoffice-writer',
  'mupdf-gl': 'mupdf',
  mupdf: 'mupdf',
  pcmanfm: 'pcmanfm',
  mousepad: 'mousepad',
  setxkbmap: 'x11-xkb-utils',
  localectl: 'systemd',
  // the locales the host has, for the cages' language (supervisor/cages/cageLanguage.ts)
  locale: 'libc-bin',
  // documents converted into pixels, in their sandbox (supervisor/files/convert)
  pdftoppm: 'poppler-utils',
  pdfinfo: 'poppler-utils',
  prlimit: 'util-linux',
  soffice: 'libreoffice-writer',
  // the optional OCR text layer, in a sandbox of its own (its languages: tesseract-ocr-fra, -eng)
  tesseract: 'tesseract-ocr',
  // smart cards per level (supervisor/smartcard)
  pkcs11proxyd: 'caml-crush-server',
  'pkcs11-tool': 'opensc',
  // the cages' card client without Kerberos (supervisor/smartcard/cardClientModule.ts)
  patchelf: 'patchelf',
  // the card proxy started with its module preloaded (supervisor/smartcard/levelCardProxy.ts)
  env: 'coreutils',
  // the card listing run as a proxy uid straight into its execute-only copy (supervisor/smartcard/cardPresence.ts)
  chroot: 'coreutils',
  // folders another uid owns emptied as that uid (supervisor/system/ownedFolders.ts)
  find: 'findutils',
  // ...after their owner's rights on them are given back, as that uid (same file)
  chmod: 'coreutils',
};

export function findBinary(name: string, path = process.env.PATH ?? '/usr/bin:/bin'): string | null {
  if (name.includes('/')) return canExecute(name) ? name : null;
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (canExecute(candidate)) return candidate;
  }
  return null;
}

function canExecute(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A CloisonError, so the shell shows this message rather than "internal error". */
export class MissingBinaryError extends CloisonError {
  constructor(readonly binary: string) {
    const pkg = DEBIAN_PACKAGE_OF[binary];
    super('MISSING_PROGRAM', pkg ? bilingual(`${binary} introuvable : installez le paquet ${pkg}`, `${binary} not found: install ${pkg}`) : bilingual(`${binary} introuvable dans le PATH`, `${binary} not found in PATH`));
    this.name = 'MissingBinaryError';
  }
}

export function requireBinary(name: string): string {
  const found = findBinary(name);
  if (!found) throw new MissingBinaryError(name);
  return found;
}
