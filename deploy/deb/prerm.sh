#!/bin/sh
# Cloison .deb: before removal or upgrade.
# An upgrade stops nothing: the new version's postinst restarts the cage manager alone (the cages
# keep running and the new manager re-adopts them). A removal ends the manager (or, where the
# single mode was chosen, the root supervisor) with its cages (SIGINT: it stops its part and every
# cage, then exits cleanly, so systemd does not restart it).
set -e
case "$1" in
  remove | deconfigure)
    if [ -d /run/systemd/system ]; then
      for unit in cloison-cage-manager.service cloison-supervisor.service; do
        systemctl disable "$unit" >/dev/null 2>&1 || true
        if systemctl is-active --quiet "$unit"; then
          systemctl kill --kill-whom=main --signal=SIGINT "$unit" || true
          i=0
          while systemctl is-active --quiet "$unit" && [ "$i" -lt 60 ]; do
            i=$((i + 1))
            sleep 0.5
          done
        fi
      done
    fi
    ;;
  upgrade | failed-upgrade) ;;
esac
exit 0
