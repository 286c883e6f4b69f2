#!/bin/sh
# Cloison .deb: after removal. The journal and the cages' homes in /var/lib/cloison stay until purge.
set -e
if [ "$1" = remove ] || [ "$1" = purge ]; then
  rm -f /usr/bin/cloison
  rm -f /usr/lib/cloison
fi
if [ "$1" = purge ]; then
  rm -rf /var/lib/cloison
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
exit 0
