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
# Caml Crush's own daemon (a proxy on 127.0.0.1:4444, unfiltered) never runs: the supervisor runs one per level.
update-rc.d caml-crush-server disable >/dev/null 2>&1 || true
invoke-rc.d caml-crush-server stop >/dev/null 2>&1 || true
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable cloison-supervisor.service >/dev/null
  # An upgrade ("configure OLD-VERSION") restarts the supervisor if it runs, never the cages (the
  # unit's KillMode=process and --keep-cages-on-stop): the new one re-adopts them, and a cage whose
  # definition or record format changed restarts with the reason shown to the user and journaled.
  # A fresh install starts it.
  if [ -n "$2" ]; then
    systemctl try-restart cloison-supervisor.service || true
  else
    systemctl start cloison-supervisor.service || true
  fi
fi
exit 0
