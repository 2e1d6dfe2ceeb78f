#!/usr/bin/env bash
# Make sure headless Chromium and its fonts are there for the browser tests (tests/e2e); idempotent.
#
# Playwright drives Debian's `chromium` (executable_path=/usr/bin/chromium): `playwright
# install` downloads its own browser builds, which this machine cannot fetch. The pages speak
# Simplified Chinese too, so the CJK fonts (fonts-noto-cjk) are part of the browser here:
# without them every Chinese character renders as a box in the screenshots.
set -euo pipefail

CHROMIUM=${SALESPULSE_CHROMIUM:-/usr/bin/chromium}
have_fonts() { ! command -v dpkg >/dev/null || dpkg -s fonts-noto-cjk >/dev/null 2>&1; }
if [ -x "$CHROMIUM" ] && have_fonts; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "install_browser: installing Debian's chromium and fonts for the browser tests ..."
  # emoji: the cheer buttons; noto-cjk: the zh-CN pages
  packages=(chromium fonts-dejavu-core fonts-noto-color-emoji fonts-noto-cjk)
  install() { DEBIAN_FRONTEND=noninteractive apt-get -q -y install --no-install-recommends "${packages[@]}"; }
  # Refresh the package lists only when they are missing or stale (a fresh machine).
  if ! apt-cache show fonts-noto-cjk >/dev/null 2>&1 || ! install; then
    apt-get -q update
    install
  fi
  exit 0
fi
if [ -x "$CHROMIUM" ]; then
  echo "install_browser: fonts-noto-cjk is missing (Chinese renders as boxes): as root," \
    "apt-get install fonts-noto-cjk" >&2
  exit 0
fi
echo "install_browser: $CHROMIUM is missing: install Debian's chromium (as root:" \
  "apt-get install chromium fonts-noto-cjk), or set SALESPULSE_CHROMIUM to a Chromium binary" >&2
exit 2
