#!/bin/sh
# Cloison .deb: after install. Stable paths for the units, the admin group, the units loaded.
set -e
ln -sfn /opt/Cloison /usr/lib/cloison
ln -sf /usr/lib/cloison/resources/app/out/cli/cloison.js /usr/bin/cloison
# Members of cloison-admin may use the admin socket (status, policy reload); nobody else.
getent group cloison-admin >/dev/null || groupadd --system cloison-admin
# Members of cloison-shell may run the shell (the kiosk users): add them with usermod -aG.
getent group cloison-shell >/dev/null || groupadd --system cloison-shell
# The unprivileged part's account (#29): owns the journal's key (0600: it and root only); no login.
getent passwd cloison >/dev/null || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin cloison
# The cloison part (#29) gives the shell's socket to cloison-shell, the admin socket to cloison-admin.
usermod --append --groups cloison-shell,cloison-admin cloison
# Its own state folder (the journal, its keys), beside the cage manager's /var/lib/cloison.
install -d -o cloison -g cloison -m 0700 /var/lib/cloison-broker
if [ -f /var/lib/cloison/journal.key ]; then chown cloison:cloison /var/lib/cloison/journal.key; chmod 0600 /var/lib/cloison/journal.key; fi
# The cages' applications speak the shell's language through a locale the host has (cageLanguage.ts):
# fr_FR.UTF-8 is generated when missing, beside those the administrator chose.
if [ -f /etc/locale.gen ] && ! locale -a 2>/dev/null | grep -qix 'fr_FR.utf8'; then
  sed -i 's/^# *\(fr_FR.UTF-8 UTF-8\)/\1/' /etc/locale.gen
  grep -q '^fr_FR.UTF-8 UTF-8' /etc/locale.gen || echo 'fr_FR.UTF-8 UTF-8' >> /etc/locale.gen
  locale-gen >/dev/null || true
fi
# Caml Crush's own daemon (a proxy on 127.0.0.1:4444, unfiltered) never runs: the supervisor runs one per level.
update-rc.d caml-crush-server disable >/dev/null 2>&1 || true
invoke-rc.d caml-crush-server stop >/dev/null 2>&1 || true
# Which unit runs the supervisor (#29): the cage manager (root) with the supervisor as its
# unprivileged cloison part, cloison-cage-manager.service; the single root supervisor's unit is
# installed, not enabled. This file says the switch was made once, so an administrator's later
# choice of the single mode is kept on upgrades (an install from before the switch has none).
SPLIT_MARK=/var/lib/cloison/units-split
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ -n "$2" ] && [ -e "$SPLIT_MARK" ]; then
    # An upgrade ("configure OLD-VERSION") restarts whichever unit runs, never the cages (both units'
    # KillMode=process and --keep-cages-on-stop): the new one re-adopts them, and a cage whose
    # definition or record format changed restarts with the reason shown to the user and journaled.
    systemctl try-restart cloison-cage-manager.service || true
    systemctl try-restart cloison-supervisor.service || true
  else
    # A fresh install, or an upgrade from a root-supervisor install: the cage manager enabled in the
    # supervisor's place, and started on a fresh install or where the supervisor ran (one an
    # administrator stopped stays stopped); its Conflicts= stops a running supervisor first
    # (SIGTERM with --keep-cages-on-stop: the cages stay), and the manager adopts them for its part.
    running=
    if [ -n "$2" ] && systemctl is-active --quiet cloison-supervisor.service; then running=yes; fi
    systemctl disable cloison-supervisor.service >/dev/null 2>&1 || true
    systemctl enable cloison-cage-manager.service >/dev/null
    if [ -z "$2" ] || [ -n "$running" ]; then
      systemctl start cloison-cage-manager.service || true
    fi
  fi
fi
install -d -m 0711 /var/lib/cloison
: > "$SPLIT_MARK"
exit 0
