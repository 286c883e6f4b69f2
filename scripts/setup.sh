#!/usr/bin/env bash
# Installs what Cloison needs on Debian 12 (as root): the cage parts (TigerVNC Xvnc, bubblewrap,
# slirp4netns, a window manager, a terminal and an editor, xclip for the clipboard broker, e2fsprogs
# for the cages' home images), the USB storage tools (blkid, mount, blockdev; mkfs for the tests'
# keys), Chromium for the browser host and the end-to-end tests, Xvfb for headless Electron runs,
# then the npm dependencies and a build. deploy/requiredPrograms.test.ts keeps this list, the
# package's depends and the programs the code runs in step.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  tigervnc-standalone-server bubblewrap slirp4netns util-linux iproute2
  openbox xterm x11-apps x11-utils xclip xinput xdotool fonts-dejavu-core
  # the cages' core X fonts: xterm's ISO 10646 "fixed" (Latin-1, Latin Extended-A, €)
  xfonts-base
  chromium xvfb xauth cage
  # perf: the Firefox scroll benchmark counts vncviewer's painted frames and Xvnc's updates with
  # uprobes; nm (binutils) finds the Xvnc function its probe is set on
  linux-perf binutils
  # xrandr and xsetroot: a cage's screen follows its frame, its desktop its level's colour
  x11-xserver-utils
  # wmctrl: a cage's applications asked to quit through its window manager before the cage stops
  wmctrl
  # the cages' keyboard layout, set from the trusted side (setxkbmap against each cage's X)
  x11-xkb-utils xkb-data
  mount e2fsprogs dosfstools coreutils bsdutils dash libc-bin udev
  # the lock: the unlock password through PAM, the lock before sleep through logind
  pamtester systemd
  # npm start's split: an ACL entry lets the cloison part alone reach a checkout in a private home
  acl
  # the encrypting diode: OpenPGP encryption and signatures (gpg-agent holds the levels' keys)
  gpg gpg-agent gpgconf
  # documents converted into pixels (decision convert): poppler renders PDFs, LibreOffice the rest
  poppler-utils libreoffice-writer libreoffice-calc libreoffice-impress libreoffice-draw
  # the converted documents' optional OCR text layer, in French and English
  tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng
  # levels on a WireGuard network (wireguard-go where the kernel has no WireGuard; without
  # recommends: wireguard-tools recommends a whole kernel image)
  wireguard-tools wireguard-go
  # a sound server in each cage, and the relay's own clients of the host's
  pulseaudio pulseaudio-utils
  # the levels' default applications: a browser (low), an office suite (high), a PDF viewer, a file
  # manager and a text editor (both); LibreOffice draws with its own X11 toolkit (no libreoffice-gtk3)
  firefox-esr libreoffice-writer libreoffice-calc mupdf pcmanfm mousepad
  # ...each document opened in its level's application (xdg-open), the user's folders in the
  # cage's language (xdg-user-dirs-update)
  xdg-utils xdg-user-dirs
  # ...in French: their translations and the French UTF-8 locale the cages' LANG names
  # (supervisor/cages/cageLanguage.ts; generated below)
  locales firefox-esr-l10n-fr libreoffice-l10n-fr
  # used by the tests and benchmarks only: the fleet example's syntax check, the units' check,
  # process listings, the gateway benchmark's reference (websockify), the test accounts (passwd),
  # a private system bus for logind (dbus-daemon), the motion benchmark's reference (TigerVNC's
  # vncviewer) and the key-to-glyph floor's X client (python3-xlib)
  ansible-core procps websockify passwd dbus-daemon tcpdump tigervnc-viewer python3-xlib
  # the converter's tests check its PDFs
  qpdf
  # the card guard's measure times a client's calls under it (bench/cardGuardCost.ts)
  strace
  # a failing test's account of where a stuck program waits (supervisor/testing/whereStuck.ts)
  gdb
  # smart cards per level: Caml Crush's filtering proxy and its client, p11-kit's loader in the
  # cages; the tests' software token, pkcs11-tool and the unfiltered p11-kit server they attack first
  caml-crush-server caml-crush-clients p11-kit p11-kit-modules softhsm2 opensc python3
  # the card proxy's OpenSSL pre-initialisation and its workers' page-table fill, small C libraries
  # the build compiles (supervisor/smartcard/native/opensslPreinit.c, workerPrefault.c), and the
  # GSS-API stub of the cages' card client (gssStub.c)
  gcc libssl-dev
  # the cages' card client without Kerberos: copies of Debian's renamed (cardClientModule.ts)
  patchelf
)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (the supervisor creates sandboxes and mounts devices)" >&2
  exit 1
fi
missing=()
for p in "${PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The cages' applications speak the shell's language through a locale the host has generated:
# fr_FR.UTF-8 (and en_US.UTF-8 for an English policy), added to those the administrator chose.
for l in fr_FR.UTF-8 en_US.UTF-8; do
  if ! locale -a 2>/dev/null | grep -qix "${l%.UTF-8}.utf8"; then
    sed -i "s/^# *\(${l} UTF-8\)/\1/" /etc/locale.gen
    grep -q "^${l} UTF-8" /etc/locale.gen || echo "${l} UTF-8" >> /etc/locale.gen
    regen=1
  fi
done
[ -n "${regen:-}" ] && locale-gen >/dev/null

# Caml Crush's own daemon (unfiltered, on 127.0.0.1:4444) never runs: the supervisor runs one per level.
update-rc.d caml-crush-server disable >/dev/null 2>&1 || true
invoke-rc.d caml-crush-server stop >/dev/null 2>&1 || true

# The account the tests run the browser host's Chromium as (npm start never runs it as root).
id cloison-shell-test >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin cloison-shell-test

# The unprivileged part's account (#29): owns the journal's key; no login, no home.
id cloison >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin cloison
# Split (npm start's default), the cloison part gives the shell's socket to cloison-shell and the
# admin socket to cloison-admin: a member of both where the package made them (here the sockets stay
# the part's alone without them); its state folder (the journal, its keys) its own.
for group in cloison-shell cloison-admin; do
  getent group "$group" >/dev/null && usermod --append --groups "$group" cloison
done
install -d -o cloison -g cloison -m 0700 /var/lib/cloison-broker

# Node.js >= 20.19 (the engines field): Debian 13 ships it; Debian 12's own is too old.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null; then
  echo "setup: Node.js >= 20.19 with npm is needed (found: $(node --version 2>/dev/null || echo none)); install Debian 13's nodejs or NodeSource's" >&2
  exit 1
fi

echo "setup: npm dependencies"
# Electron's own download is attempted separately below, so a blocked network cannot fail npm ci.
ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

# npm does not run Electron's download script unless allowed; try it, and say so when the network
# refuses (npm start then uses the browser host).
if ! node -e "require('electron')" >/dev/null 2>&1; then
  if timeout 120 node node_modules/electron/install.js >/dev/null 2>&1; then
    echo "setup: Electron binary installed"
  else
    echo "setup: Electron binary could not be downloaded here; npm start will use the browser host"
  fi
fi

echo "setup: build"
npm run --silent build >/dev/null
echo "setup: done"
