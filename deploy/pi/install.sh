#!/usr/bin/env bash
# Install (or update) the broadcaster agent on a Raspberry Pi from a provisioning bundle.
#
#   sudo deploy/pi/install.sh BUNDLE_DIR [SOURCE]
#
# BUNDLE_DIR is what `broadcaster sites provision SITE` wrote (agent.toml, trusted-keys.json,
# ca.crt with TLS). SOURCE is what pip installs: a wheel, an sdist or a source tree (default: the
# repository this script is in). Idempotent: run it again to update the code or the bundle.
#
# Options (before BUNDLE_DIR):
#   --no-apt      do not install Debian packages (python3-venv, mpv, ffmpeg, alsa-utils)
#   --no-system   do not create the user, chown, or touch systemd (for tests, with ROOT=)
#   --no-venv     do not create the virtualenv / pip install
# Environment: ROOT=/some/dir installs under that prefix (tests).
set -euo pipefail

APT=1 SYSTEM=1 VENV=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-apt) APT=0; shift ;;
    --no-system) SYSTEM=0; APT=0; shift ;;
    --no-venv) VENV=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    --) shift; break ;;
    -*) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: install.sh [options] BUNDLE_DIR [SOURCE]" >&2; exit 2; }

BUNDLE=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE=${2:-$(cd "$HERE/../.." && pwd)}
ROOT=${ROOT:-}
USER_NAME=broadcaster-agent
OPT="$ROOT/opt/broadcaster-agent"
ETC="$ROOT/etc/broadcaster-agent"
STATE="$ROOT/var/lib/broadcaster-agent"
UNIT_DIR="$ROOT/etc/systemd/system"

[ -f "$BUNDLE/agent.toml" ] || { echo "install.sh: $BUNDLE/agent.toml not found" >&2; exit 2; }
if [ "$SYSTEM" = 1 ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo)" >&2; exit 1
fi

if [ "$APT" = 1 ]; then
  missing=()
  for pkg in python3-venv mpv ffmpeg alsa-utils; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "install.sh: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

if [ "$SYSTEM" = 1 ]; then
  if ! id "$USER_NAME" >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/broadcaster-agent --no-create-home \
            --shell /usr/sbin/nologin "$USER_NAME"
  fi
  for group in audio gpio; do  # sound card; amplifier relay (Raspberry Pi OS)
    getent group "$group" >/dev/null && usermod -aG "$group" "$USER_NAME"
  done
fi

install -d -m 0755 "$OPT" "$OPT/docs"
if [ "$VENV" = 1 ]; then
  [ -x "$OPT/venv/bin/python" ] || python3 -m venv "$OPT/venv"
  "$OPT/venv/bin/pip" install -q --upgrade pip
  if [ -d "$SOURCE" ]; then
    "$OPT/venv/bin/pip" install -q --upgrade "$SOURCE[pi]"
  else
    "$OPT/venv/bin/pip" install -q --upgrade "$SOURCE" gpiozero
  fi
fi
[ -f "$SOURCE/docs/protocol.md" ] && install -m 0644 "$SOURCE/docs/protocol.md" "$OPT/docs/"

# Config: readable by the agent's group only (agent.toml holds its MQTT password).
install -d -m 0750 "$ETC"
install -m 0640 "$BUNDLE/agent.toml" "$ETC/agent.toml"
install -m 0644 "$BUNDLE/trusted-keys.json" "$ETC/trusted-keys.json"
if [ -f "$BUNDLE/ca.crt" ]; then
  install -m 0644 "$BUNDLE/ca.crt" "$ETC/ca.crt"
fi
install -d -m 0750 "$STATE"
if [ "$SYSTEM" = 1 ]; then
  chown root:"$USER_NAME" "$ETC" "$ETC/agent.toml"
  chown "$USER_NAME":"$USER_NAME" "$STATE"
fi

if [ "$VENV" = 1 ]; then
  if [ "$SYSTEM" = 1 ]; then
    runuser -u "$USER_NAME" -- "$OPT/venv/bin/python" -m broadcaster.agent \
      --config "$ETC/agent.toml" --check-config
  else
    "$OPT/venv/bin/python" -m broadcaster.agent --config "$ETC/agent.toml" --check-config
  fi
fi

install -d -m 0755 "$UNIT_DIR"
install -m 0644 "$HERE/broadcaster-agent.service" "$UNIT_DIR/broadcaster-agent.service"
if [ "$SYSTEM" = 1 ]; then
  systemctl daemon-reload
  systemctl enable broadcaster-agent.service
  systemctl restart broadcaster-agent.service
  echo "install.sh: broadcaster-agent running; logs: journalctl -u broadcaster-agent -f"
else
  echo "install.sh: files installed under ${ROOT:-/} (no system changes)"
fi
