#!/bin/sh
# Cloison .deb: before removal or upgrade.
# An upgrade stops nothing: the new version's postinst restarts the supervisor alone (the cages keep
# running and the new supervisor re-adopts them). A removal ends the supervisor with its cages
# (SIGINT: the supervisor stops every cage, then exits cleanly, so systemd does not restart it).
set -e
case "$1" in
  remove | deconfigure)
    if [ -d /run/systemd/system ]; then
      systemctl disable cloison-supervisor.service >/dev/null 2>&1 || true
      if systemctl is-active --quiet cloison-supervisor.service; then
        systemctl kill --kill-whom=main --signal=SIGINT cloison-supervisor.service || true
        i=0
        while systemctl is-active --quiet cloison-supervisor.service && [ "$i" -lt 60 ]; do
          i=$((i + 1))
          sleep 0.5
        done
      fi
    fi
    ;;
  upgrade | failed-upgrade) ;;
esac
exit 0
