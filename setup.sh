#!/usr/bin/env bash
# Set up Loa on a Debian machine: the system packages it needs (only those missing), a virtualenv in .venv,
# and the package itself (editable). `--dev` adds the test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

packages=(python3-venv mosquitto mosquitto-clients libvlc5 vlc-plugin-base espeak-ng ffmpeg sox fonts-dejavu-core)
if [ "${1:-}" = "--dev" ]; then
  packages+=(chromium chromium-driver mtools dosfstools fdisk xz-utils)
  # The booted-unit test (tests/image): builds a Debian 12 card image and boots it in QEMU.
  packages+=(mmdebstrap qemu-system-x86 e2fsprogs)
  # Node runs the MicroPython WebAssembly port in the firmware tests; a machine may already have its own Node.
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts a system-wide Mosquitto on port 1883 when the package is installed; Loa runs its own,
# locked-down brokers, so the open default one is stopped where systemd manages it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
  systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi

# Debian's own python3 where there is one (the interpreter units run): the fleet simulator ran about a tenth faster
# on it than on a pyenv build of 3.11 that loads a shared libpython (Debian's interpreter is linked statically).
python=python3; [ -x /usr/bin/python3 ] && python=/usr/bin/python3
[ -x .venv/bin/python ] || "$python" -m venv .venv
extra=""; [ "${1:-}" = "--dev" ] && extra="[dev]"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".${extra}"
if [ "${1:-}" = "--dev" ]; then
  bash firmware/setup-dev.sh  # MicroPython stubs and the WebAssembly MicroPython for the firmware tests
  npm ci --silent --no-audit --no-fund --prefix tests/docs  # Ajv: the protocol schemas compile under a strict validator
fi
echo "setup: ready (.venv/bin/loa)"
