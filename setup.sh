#!/usr/bin/env bash
# Set up Loa on a Debian machine: the system packages it needs (only those missing), a virtualenv in .venv,
# and the package itself (editable, with the simulator's libraries). `--dev` adds the test tools. Safe to run again.
# It leaves the host's own services alone: Loa's embedded brokers listen on free ports, beside any Mosquitto there.
set -euo pipefail
cd "$(dirname "$0")"

packages=(python3-venv mosquitto mosquitto-clients libvlc5 libvlc-bin vlc-plugin-base espeak-ng ffmpeg sox fonts-dejavu-core)
if [ "${1:-}" = "--dev" ]; then
  packages+=(chromium chromium-driver mtools dosfstools fdisk xz-utils)
  # chronyd's libraries: the tests run a real chronyd as their NTP server, unpacked below, never installed
  packages+=(libgnutls30 libnettle8 libcap2 libseccomp2)
  # The booted-unit test (tests/image): builds a Debian 12 card image and boots it in QEMU.
  packages+=(mmdebstrap qemu-system-x86 e2fsprogs)
  # The arm64 benchmark (tests/image/arm64_bench.py) boots the Pi's architecture: the image finishes inside it too.
  packages+=(qemu-system-arm)
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
# libVLC's plugin cache (libvlc-bin's trigger writes it when plugins are installed; made here if it is missing):
# without it libVLC opens all its ~350 plugins at every start, which costs the agent about 40 MiB of memory.
# A unit's first boot does the same.
for gen in /usr/lib/*/vlc/vlc-cache-gen; do
  [ -x "$gen" ] || continue
  plugins="$(dirname "$gen")/plugins"
  if [ ! -s "$plugins/plugins.dat" ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo "$gen" "$plugins"
  fi
done

# Debian's own python3 where there is one (the interpreter units run): the fleet simulator ran about a tenth faster
# on it than on a pyenv build of 3.11 that loads a shared libpython (Debian's interpreter is linked statically).
python=python3; [ -x /usr/bin/python3 ] && python=/usr/bin/python3
[ -x .venv/bin/python ] || "$python" -m venv .venv
extra="[sim,console]"; [ "${1:-}" = "--dev" ] && extra="[dev]"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".${extra}"
if [ "${1:-}" = "--dev" ]; then
  bash firmware/setup-dev.sh  # MicroPython stubs and the WebAssembly MicroPython for the firmware tests
  npm ci --silent --no-audit --no-fund --prefix tests/docs  # Ajv: the protocol schemas compile under a strict validator
  # The NTP server of the time-source tests: chronyd from Debian's package, unpacked into .cache/chrony. Installing
  # the package would replace the machine's own time service (systemd-timesyncd).
  if [ ! -x .cache/chrony/usr/sbin/chronyd ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq chrony 2>/dev/null)
    mkdir -p .cache/chrony && dpkg-deb -x "$tmp"/chrony_*.deb .cache/chrony && rm -rf "$tmp"
  fi
fi
echo "setup: ready (.venv/bin/loa)"
