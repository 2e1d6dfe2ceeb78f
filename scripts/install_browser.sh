#!/usr/bin/env bash
# Make sure headless Chromium is there for the browser tests (tests/e2e); idempotent.
#
# Playwright drives Debian's `chromium` (executable_path=/usr/bin/chromium): `playwright
# install` downloads its own browser builds, which this machine cannot fetch.
set -euo pipefail

CHROMIUM=${SALESPULSE_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "install_browser: installing Debian's chromium for the browser tests ..."
  packages=(chromium fonts-dejavu-core fonts-noto-color-emoji)  # emoji: the cheer buttons
  install() { DEBIAN_FRONTEND=noninteractive apt-get -q -y install --no-install-recommends "${packages[@]}"; }
  # Refresh the package lists only when they are missing or stale (a fresh machine).
  if ! apt-cache show chromium >/dev/null 2>&1 || ! install; then
    apt-get -q update
    install
  fi
  exit 0
fi
echo "install_browser: $CHROMIUM is missing: install Debian's chromium (as root:" \
  "apt-get install chromium), or set SALESPULSE_CHROMIUM to a Chromium binary" >&2
exit 2
