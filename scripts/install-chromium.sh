#!/bin/sh
# Make sure Debian's chromium and chromium-driver exist for the browser test of the web
# view (tests/test_web_browser.py). Installs them with apt-get when missing and we are
# root; never downloads a browser build of its own. Idempotent.
set -eu

have() { command -v "$1" >/dev/null 2>&1; }

if have chromium && have chromedriver; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-chromium.sh: chromium/chromedriver missing and we are not root." >&2
    echo "  Install them with:  sudo apt-get install chromium chromium-driver" >&2
    exit 1
fi

if ! have apt-get; then
    echo "install-chromium.sh: no apt-get; install chromium and its driver by hand." >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-dejavu-core
echo "install-chromium.sh: installed $(chromium --version)"
