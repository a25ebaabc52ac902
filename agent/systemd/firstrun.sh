#!/bin/bash
# Loa's first boot on a unit, hooked the way Raspberry Pi Imager customises a card: flash.sh appends
#   systemd.run=/boot/firmware/firstrun.sh systemd.run_success_action=reboot systemd.unit=kernel-command-line.target
# to cmdline.txt, so systemd boots to a minimal target, runs this once as root, and reboots when it succeeds.
# It installs the unit from the card's loa/ folder (put there by flash.sh):
#   loa/bundle/      the unit's config.toml, trust set, credentials and keys (from `loa provision`)
#   loa/wheels/      Loa and its dependencies as wheels for this board (installed with pip --no-index)
#   loa/debs/        Debian packages the image lacks (libVLC, espeak-ng and their dependencies), optional
#   loa/loa-agent.service
# Steps, each one safe to repeat: the loa user and groups; missing Debian packages; /opt/loa/venv; libVLC's plugin
# cache; the bundle into /var/lib/loa (0700, files 0600, owned by loa); every file of loa/ on the FAT partition
# overwritten and deleted; loa-agent.service enabled; cmdline.txt restored. On a failure the hook stays in
# cmdline.txt (the next boot tries again), the system goes on to its normal target, and the outcome is written to
# /var/lib/loa/firstboot.json (the agent reports it) and loa/FIRSTBOOT-FAILED.txt on the card.
# Everything it prints goes to the journal: journalctl -t loa-firstrun
#
# LOA_FIRSTRUN_ROOT (tests only) prefixes every path, so the steps run against a folder on a build machine.
set -uo pipefail

if [ -z "${LOA_FIRSTRUN_LOGGED:-}" ] && command -v systemd-cat >/dev/null 2>&1; then
  LOA_FIRSTRUN_LOGGED=1 exec systemd-cat -t loa-firstrun -- "$0" "$@"
fi

fs="${LOA_FIRSTRUN_ROOT:-}"
boot="$fs/boot/firmware"
card="$boot/loa"
state="$fs/var/lib/loa"
venv="$fs/opt/loa/venv"
unit_dir="$fs/etc/systemd/system"
outcome="$state/firstboot.json"
hook_words="systemd.run=/boot/firmware/firstrun.sh systemd.run_success_action=reboot"
hook_words+=" systemd.unit=kernel-command-line.target"
groups=(audio dialout gpio)  # the service's SupplementaryGroups: a missing group would stop it from starting
debian_packages=(python3 python3-venv libvlc5 vlc-plugin-base libvlc-bin espeak-ng)
step="start"

log() { echo "loa-firstrun: $*"; }

fail() {
  log "FAILED at step '$step': $*"
  record failed "$step: $*"
  printf 'Loa first boot failed at %s: %s\nThe next boot tries again. Details: journalctl -t loa-firstrun\n' \
    "$step" "$*" >"$card/FIRSTBOOT-FAILED.txt" 2>/dev/null || true
  # Go on to the normal system (a technician can look at it); the hook stays, so the next boot retries.
  [ -n "$fs" ] || systemctl --no-block isolate multi-user.target || true
  exit 1
}

record() {  # result detail: what the agent reports as its first boot
  mkdir -p "$state"
  local version=""
  [ -x "$venv/bin/python" ] && version="$("$venv/bin/python" -c 'import agent; print(agent.__version__)' 2>/dev/null)"
  printf '{"result": "%s", "detail": "%s", "at": "%s", "loa": "%s"}\n' "$1" "${2//\"/\'}" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$version" >"$outcome.tmp" && mv "$outcome.tmp" "$outcome"
  chmod 0600 "$outcome"
  id loa >/dev/null 2>&1 && chown loa:loa "$outcome" || true
}

make_user() {
  step="user"
  local g
  for g in loa "${groups[@]}"; do
    getent group "$g" >/dev/null || groupadd --system "$g" || fail "groupadd $g"
  done
  if ! id loa >/dev/null 2>&1; then
    useradd --system --gid loa --groups "$(IFS=,; echo "${groups[*]}")" --home-dir /var/lib/loa --no-create-home \
      --shell /usr/sbin/nologin loa || fail "useradd loa"
  fi
  usermod -a -G "$(IFS=,; echo "${groups[*]}")" loa || fail "usermod loa"
}

missing_packages() {
  local p
  for p in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

install_packages() {
  step="debian-packages"
  local missing
  missing="$(missing_packages | tr '\n' ' ')"
  [ -n "${missing// /}" ] || { log "Debian packages: all present"; return; }
  log "Debian packages to install: $missing"
  export DEBIAN_FRONTEND=noninteractive
  if compgen -G "$card/debs/*.deb" >/dev/null; then
    # The card's own packages: apt resolves them among themselves and what is installed, without any network.
    apt-get install -y -q --no-install-recommends "$card"/debs/*.deb || fail "apt-get install (card)"
  else
    systemctl start network-online.target 2>/dev/null || true
    apt-get update -q && apt-get install -y -q --no-install-recommends $missing || fail "apt-get install $missing"
  fi
  missing="$(missing_packages | tr '\n' ' ')"
  [ -z "${missing// /}" ] || fail "still missing after install: $missing"
}

install_loa() {
  step="venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || fail "python3 -m venv"
  if compgen -G "$card/wheels/loa-*.whl" >/dev/null; then
    "$venv/bin/python" -m pip install -q --no-index --find-links "$card/wheels" --upgrade --no-warn-script-location \
      --no-compile "$(ls "$card"/wheels/loa-*.whl | tail -n 1)" || fail "pip install --no-index"
    # Byte-compiled now, on every core (pip would do it on one): the service cannot write them later (read-only /opt).
    "$venv/bin/python" -m compileall -q -j 0 "$venv/lib" >/dev/null ||
      log "some files did not byte-compile (pip would have skipped them too)"
  fi
  [ -x "$venv/bin/loa" ] || fail "no wheelhouse on the card and no Loa in $venv"
  step="vlc-cache"
  # libvlc-bin's trigger makes the cache when dpkg installs plugins; an image that had them without it gets one here
  # (without it libVLC loads every plugin at each start: slower, and tens of MiB more memory).
  local gen
  for gen in "$fs"/usr/lib/*/vlc/vlc-cache-gen; do
    [ -x "$gen" ] || continue
    [ -s "$(dirname "$gen")/plugins/plugins.dat" ] || "$gen" "$(dirname "$gen")/plugins" || fail "vlc-cache-gen"
  done
}

move_bundle() {
  step="bundle"
  install -d -o loa -g loa -m 0700 "$state" || fail "make $state"
  if [ -d "$card/bundle" ]; then
    (cd "$card/bundle" && find . -type d) | while read -r d; do
      install -d -o loa -g loa -m 0700 "$state/$d"
    done
    (cd "$card/bundle" && find . -type f) | while read -r f; do
      install -o loa -g loa -m 0600 "$card/bundle/$f" "$state/$f" || exit 1
    done || fail "copy the bundle"
    cmp -s "$card/bundle/config.toml" "$state/config.toml" || fail "config.toml did not arrive in $state"
  fi
  [ -f "$state/config.toml" ] || fail "no bundle on the card and no $state/config.toml"
  if [ -f "$card/loa-agent.service" ]; then
    install -m 0644 "$card/loa-agent.service" "$unit_dir/loa-agent.service" || fail "install loa-agent.service"
  fi
}

erase_card() {
  step="erase"
  [ -d "$card" ] || return 0
  # Overwrite the bundle (credentials, keys, password hash) before deleting it: FAT has no permissions, and a deleted
  # file's clusters keep their bytes otherwise. Wheels and packages hold nothing secret: they are only deleted.
  if [ -d "$card/bundle" ]; then
    find "$card/bundle" -type f -exec shred -f -n 1 -z -u {} + || fail "shred the bundle on the card"
  fi
  rm -rf "$card" || fail "remove loa/ from the card"
  sync
}

enable_service() {
  step="enable"
  systemctl daemon-reload 2>/dev/null || true
  systemctl enable loa-agent.service || fail "systemctl enable loa-agent"
}

restore_cmdline() {
  step="cmdline"
  local cmdline="$boot/cmdline.txt" word line
  line="$(head -n 1 "$cmdline")"
  for word in $hook_words; do
    line="$(printf '%s\n' "$line" | sed -e "s| $word||g" -e "s|^$word ||" -e "s|^$word$||")"
  done
  printf '%s\n' "$line" >"$cmdline.tmp" && mv "$cmdline.tmp" "$cmdline" || fail "rewrite cmdline.txt"
  rm -f "$boot/firstrun.sh"
  sync
}

main() {
  log "first boot of a Loa unit starts"
  make_user
  install_packages
  log "Debian packages ready; installing Loa into $venv"
  install_loa
  log "Loa installed; moving the bundle into $state"
  move_bundle
  enable_service
  erase_card
  record ok ""
  restore_cmdline
  log "first boot done: loa-agent.service starts after the reboot"
}

main "$@"
