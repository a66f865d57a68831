#!/usr/bin/env bash
# Install what broadcaster needs on a fresh Debian/Ubuntu machine, then the project in .venv.
# Idempotent: does nothing that is already done. Used by `make demo` and `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(mosquitto mosquitto-clients nats-server ffmpeg espeak-ng mpv sox chromium fonts-dejavu-core nginx poppler-utils icecast2)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm (for axe-core below): Debian's package, unless Node.js brought its own npm already.
if ! command -v npm >/dev/null 2>&1; then
  echo "bootstrap: installing Debian package: npm"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $($PY --version)"
  $PY -m venv .venv
fi
# Reinstall when the requirements or their pinned versions change (constraints.txt: see
# scripts/freeze_constraints.py to refresh it).
stamp=.venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing Python packages into .venv (first run takes a minute)"
  .venv/bin/pip install -q -U pip
  .venv/bin/pip install -q -c constraints.txt -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# axe-core, which the accessibility test runs in Chromium (tests/scope/test_accessibility.py).
AXE_VERSION=4.14.1
if [ ! -f ".venv/npm/node_modules/axe-core/axe.min.js" ] || ! grep -q "\"version\": \"$AXE_VERSION\"" .venv/npm/node_modules/axe-core/package.json; then
  echo "bootstrap: installing axe-core $AXE_VERSION from npm into .venv/npm"
  npm install --silent --no-audit --no-fund --prefix .venv/npm "axe-core@$AXE_VERSION" >/dev/null
fi
