#!/usr/bin/env bash
# Installs Debian's docker.io and busybox-static when missing, and starts dockerd when no
# engine answers. Safe to run again.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v dockerd >/dev/null 2>&1 || [ ! -x /bin/busybox ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker.io busybox-static >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  # its own session: killing the shell or process group that ran this script leaves the engine up
  $SUDO sh -c 'setsid nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null &'
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
fi
docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
echo "docker engine: $(docker version --format '{{.Server.Version}}')"
