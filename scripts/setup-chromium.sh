#!/usr/bin/env bash
# Installs Debian's chromium when missing: test/api/console.test.ts drives it headless through
# playwright-core (which downloads no browser of its own). Safe to run again.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v chromium >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
echo "chromium: $(chromium --version 2>/dev/null || echo missing)"
