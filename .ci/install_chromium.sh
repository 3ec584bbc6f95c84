#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver (if missing) for tests/test_report_browser.py,
# the way .ci/docker_build_test.sh installs docker.io: apt-get from Debian, root only. The
# browser comes from Debian, never from a download at test time (Selenium's driver manager
# is not used: the test points Selenium at /usr/bin/chromedriver).
# Usage: bash .ci/install_chromium.sh   (needs root on Debian bookworm; a no-op when present)
set -euo pipefail
missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
if ((${#missing[@]} == 0)); then
    echo "chromium: $(/usr/bin/chromium --version)"
    exit 0
fi
((EUID == 0)) || { echo "install_chromium: need root to apt-get install ${missing[*]}" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "chromium: $(/usr/bin/chromium --version)"
