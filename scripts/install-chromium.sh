#!/usr/bin/env bash
# Installs headless Chromium from the distribution's packages (Debian: `chromium`) for the
# HTML report's browser test. Needs root (or sudo) and the Debian mirrors; where it cannot,
# it says so and the browser test is skipped with a notice (the rest of `make test` runs).
set -u
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi
}
install() { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
if command -v apt-get >/dev/null && { install || { as_root apt-get update -qq >/dev/null && install; }; }; then
    echo "installed $(chromium --version 2>/dev/null)"
else
    echo "NOTICE: could not install chromium (apt-get as root): the HTML report's browser test is skipped"
fi
exit 0
