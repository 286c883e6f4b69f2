#!/bin/sh
# Cloison .deb: after removal. The cages' homes and the manager's journal in /var/lib/cloison, the
# cloison part's journal and keys in /var/lib/cloison-broker stay until purge.
set -e
if [ "$1" = remove ] || [ "$1" = purge ]; then
  rm -f /usr/bin/cloison
  rm -f /usr/lib/cloison
fi
if [ "$1" = purge ]; then
  rm -rf /var/lib/cloison /var/lib/cloison-broker
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
exit 0
