#!/bin/sh
# Cloison .deb: after install. Stable paths for the units, the admin group, the units loaded.
set -e
ln -sfn /opt/Cloison /usr/lib/cloison
ln -sf /usr/lib/cloison/resources/app/out/cli/cloison.js /usr/bin/cloison
# Members of cloison-admin may use the admin socket (status, policy reload); nobody else.
getent group cloison-admin >/dev/null || groupadd --system cloison-admin
# Members of cloison-shell may run the shell (the kiosk users): add them with usermod -aG.
getent group cloison-shell >/dev/null || groupadd --system cloison-shell
# Caml Crush's own daemon (a proxy on 127.0.0.1:4444, unfiltered) never runs: the supervisor runs one per level.
update-rc.d caml-crush-server disable >/dev/null 2>&1 || true
invoke-rc.d caml-crush-server stop >/dev/null 2>&1 || true
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable cloison-supervisor.service >/dev/null
  # An upgrade restarts the supervisor, never the cages: the new one re-adopts them (a cage whose
  # definition or record format changed restarts, journaled and shown); a fresh install starts it.
  systemctl restart cloison-supervisor.service || true
fi
exit 0
