#!/usr/bin/env bash
# Builds the base image the booted-unit test flashes: Debian 12 with Raspberry Pi OS's layout (a FAT boot partition
# labelled bootfs holding cmdline.txt, mounted at /boot/firmware; an ext4 root labelled rootfs; systemd), as a raw
# disk image, without loop mounts (mmdebstrap into a folder, mkfs.ext4 -d, mkfs.vfat + mtools, sfdisk on a file).
#
#   tests/image/build-base.sh OUT_DIR [amd64|arm64]
#
# OUT_DIR gets: disk.img (the card image), vmlinuz and initrd.img (also on the boot partition, so QEMU boots the
# kernel the card carries), debs/ (libVLC and espeak-ng with every dependency the base lacks: Raspberry Pi OS Lite
# has neither, so the unit's first boot installs them from the card).
# Like Raspberry Pi OS Lite it has python3 and python3-venv, and no libVLC or espeak-ng. qemu-guest-agent is the
# test's way in (the test runs `systemctl show` and `journalctl` inside the guest through it); it is not part of Loa.
# Needs root (or mmdebstrap's unshare mode), mmdebstrap, e2fsprogs, dosfstools, mtools, fdisk.
# The host's own architecture is built as a minbase chroot whose hooks run the image's apt-get. A foreign one
# (arm64, the Pi's) is never run on the host: no binfmt_misc handler may be registered (they are kernel-wide).
# Its packages are only extracted (mmdebstrap --variant=extract) and the image finishes configuring itself inside
# qemu-system-aarch64 (needs qemu-system-arm): one boot whose init is a script that installs the extracted packages
# with dpkg from the image's own apt cache, settles the image as configure() says, and powers off.
set -euo pipefail

out="${1:?usage: build-base.sh OUT_DIR [amd64|arm64]}"
arch="${2:-amd64}"
host_arch="$(dpkg --print-architecture)"
case "$arch" in
  "$host_arch") ;;
  arm64) command -v qemu-system-aarch64 >/dev/null ||
    { echo "build-base.sh: an arm64 image needs qemu-system-aarch64 (apt-get install qemu-system-arm)" >&2; exit 2; } ;;
  *) echo "build-base.sh: only $host_arch and arm64 images can be built here" >&2; exit 2 ;;
esac
suite=bookworm
mirror="${LOA_IMAGE_MIRROR:-http://deb.debian.org/debian}"
boot_mib=512
root_mib=2048
first_mib=4  # the boot partition starts 4 MiB in, as on Raspberry Pi OS images
console=ttyS0
[ "$arch" != arm64 ] || console=ttyAMA0  # the virt machine's PL011 UART

kernel="linux-image-cloud-$arch"  # virtio drivers, no hardware a VM lacks: small, quick to boot
base_packages=(systemd-sysv udev dbus kmod "$kernel" initramfs-tools python3 python3-venv ca-certificates
  iproute2 procps e2fsprogs dosfstools qemu-guest-agent)
# What first boot must install (the unit's Debian dependencies that Raspberry Pi OS Lite leaves out).
unit_packages=(libvlc5 vlc-plugin-base libvlc-bin espeak-ng)

work="$out.work"
rm -rf "$work" && mkdir -p "$work/debs"
root="$work/root"

# The root file system's own settings: what a Raspberry Pi OS image has that matters here. For a foreign
# architecture this runs inside the guest, with r=/ (see finish_in_guest).
configure() {
  local r="$1"
  echo loa-unit >"$r/etc/hostname"
  printf '127.0.1.1\tloa-unit\n' >>"$r/etc/hosts"
  cat >"$r/etc/fstab" <<FSTAB
LABEL=rootfs  /              ext4  defaults,noatime  0 1
LABEL=bootfs  /boot/firmware vfat  defaults          0 2
FSTAB
  mkdir -p "$r/boot/firmware" "$r/etc/systemd/network"
  cat >"$r/etc/systemd/network/20-wired.network" <<NET
[Match]
Name=en* eth*
[Network]
DHCP=yes
NET
  chroot "$r" systemctl enable systemd-networkd.service
  # The journal on the card as a unit keeps it: persistent, small, written seldom.
  mkdir -p "$r/etc/systemd/journald.conf.d" "$r/var/log/journal"
  printf '[Journal]\nStorage=persistent\nSystemMaxUse=32M\nSyncIntervalSec=5min\n' \
    >"$r/etc/systemd/journald.conf.d/40-card.conf"
  # A root login on the serial console only helps a person debugging the image by hand.
  chroot "$r" passwd -d root >/dev/null
}

doc_options=(--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright')

# The host's own architecture: a minbase chroot configured in place.
build_native() {
  nice -n 10 mmdebstrap --variant=minbase --architectures="$arch" --components=main \
    --include="$(IFS=,; echo "${base_packages[*]}")" \
    "${doc_options[@]}" --customize-hook='chroot "$1" apt-get clean' \
    --customize-hook="chroot \"\$1\" apt-get install -y -qq --download-only --no-install-recommends ${unit_packages[*]}" \
    --customize-hook="cp \"\$1\"/var/cache/apt/archives/*.deb '$work/debs/'" \
    "$suite" "$root" "$mirror"
  configure "$root"
  nice -n 10 mkfs.ext4 -q -F -L rootfs -d "$root" "$work/root.ext4" "${root_mib}M"
  cp "$(ls "$root"/boot/vmlinuz-* | sort | tail -n 1)" "$work/vmlinuz"
  cp "$(ls "$root"/boot/initrd.img-* | sort | tail -n 1)" "$work/initrd.img"
}

# A foreign architecture: the packages extracted here (their .debs kept in the image's apt cache, with apt's lists),
# the unit's packages downloaded beside them by the host's apt for that architecture, then finish_in_guest. The set is
# minbase's (priority required, which holds tzdata: the agent refuses a time zone it cannot find) plus apt.
build_foreign() {
  nice -n 10 mmdebstrap --variant=extract --architectures="$arch" --components=main \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr --skip=cleanup/apt "${doc_options[@]}" \
    --include='?priority(required)' --include="$(IFS=,; echo apt "${base_packages[*]}")" \
    --extract-hook='ls "$1"/var/cache/apt/archives/ >"$1"/../image-debs.list' \
    --extract-hook="APT_CONFIG=\"\$MMDEBSTRAP_APT_CONFIG\" apt-get install -y -qq --download-only --no-install-recommends ${unit_packages[*]}" \
    "$suite" "$root" "$mirror"
  local deb
  for deb in "$root"/var/cache/apt/archives/*.deb; do  # what the unit's packages add to the image's own
    grep -qxF "$(basename "$deb")" "$work/image-debs.list" || mv "$deb" "$work/debs/"
  done
  for deb in "$root"/var/cache/apt/archives/*.deb; do
    [ "$(dpkg-deb -f "$deb" Essential)" != yes ] || echo "/var/cache/apt/archives/$(basename "$deb")"
  done >"$root/loa-essential.list"
  finish_script >"$root/loa-finish.sh"
  chmod 0755 "$root/loa-finish.sh"
  nice -n 10 mkfs.ext4 -q -F -L rootfs -d "$root" "$work/root.ext4" "${root_mib}M"
  cp "$(ls "$root"/boot/vmlinuz-* | sort | tail -n 1)" "$work/vmlinuz"
  finish_in_guest
  local version
  version="$(basename "$(ls "$root"/boot/vmlinuz-* | sort | tail -n 1)" | sed 's/^vmlinuz-//')"
  debugfs -R "dump /boot/initrd.img-$version $work/initrd.img" "$work/root.ext4"
  [ -s "$work/initrd.img" ] || { echo "build-base.sh: the guest made no initrd" >&2; exit 1; }
}

# PID 1 of the finishing boot: what mmdebstrap would have run in a chroot, then configure(), then power off.
finish_script() {
  cat <<'HEAD'
#!/bin/bash
set -x
export PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmpfs /run
mount -o remount,rw /
finish() {
  # Essential packages first, then the rest: every file is already in place, dpkg now runs the maintainer scripts.
  dpkg --install --force-depends $(cat /loa-essential.list) || return 1
  dpkg --install --force-depends --force-confold $(ls /var/cache/apt/archives/*.deb | grep -vxF -f /loa-essential.list) ||
    return 1
  dpkg --configure -a && apt-get check || return 1
  apt-get clean && rm -rf /var/lib/apt/lists/* /loa-essential.list
HEAD
  declare -f configure
  cat <<'TAIL'
  configure /
}
if finish; then echo LOA-BASE-FINISHED; else echo LOA-BASE-FAILED; fi
rm -f /loa-finish.sh
sync; echo u >/proc/sysrq-trigger; sleep 1  # the emergency remount read-only: this script keeps / busy
echo o >/proc/sysrq-trigger
sleep 60
TAIL
}

# One boot of the extracted root in qemu-system-aarch64 (TCG) with init=/loa-finish.sh. The root is an NVMe disk
# because the kernel has NVMe built in (virtio-blk is a module, and this boot has no initrd yet).
finish_in_guest() {
  local log="$work/finish-console.log"
  timeout 3600 nice -n 10 qemu-system-aarch64 -machine virt -accel tcg -cpu max,pauth-impdef=on -smp 2 -m 2048 \
    -display none -no-reboot -monitor none -serial "file:$log" -kernel "$work/vmlinuz" \
    -append "console=$console root=/dev/nvme0n1 rw rootfstype=ext4 init=/loa-finish.sh panic=-1" \
    -drive "file=$work/root.ext4,format=raw,if=none,id=root,cache=unsafe" -device nvme,drive=root,serial=loa-root \
    -nic none </dev/null
  grep -q LOA-BASE-FINISHED "$log" || { tail -n 60 "$log" >&2; echo "build-base.sh: the guest did not finish" >&2; exit 1; }
}

if [ "$arch" = "$host_arch" ]; then build_native; else build_foreign; fi
chmod 0644 "$work/vmlinuz" "$work/initrd.img"

# The boot partition: what the Pi's firmware reads (cmdline.txt, config.txt) and, for QEMU, the kernel it boots.
# Raspberry Pi OS kernels are built without transparent huge pages; Debian's backs every large anonymous mapping with
# 2 MiB pages (THP "always"), which adds several MiB to the agent's RSS that a Pi never sees.
printf 'console=%s root=LABEL=rootfs rootfstype=ext4 fsck.repair=yes rootwait transparent_hugepage=never quiet\n' \
  "$console" >"$work/cmdline.txt"
printf '# Raspberry Pi firmware settings (unused under QEMU)\narm_64bit=1\n' >"$work/config.txt"
rm -f "$work/boot.vfat"
mkfs.vfat -F 32 -n bootfs -C "$work/boot.vfat" $((boot_mib * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mcopy -i "$work/boot.vfat" "$work/cmdline.txt" "$work/config.txt" "$work/vmlinuz" "$work/initrd.img" ::/


disk="$work/disk.img"
truncate -s $(((first_mib + boot_mib + root_mib) * 1024 * 1024)) "$disk"
sfdisk -q "$disk" <<PARTS
label: dos
start=$((first_mib * 2048)), size=$((boot_mib * 2048)), type=c
start=$(((first_mib + boot_mib) * 2048)), type=83
PARTS
dd if="$work/boot.vfat" of="$disk" bs=1M seek="$first_mib" conv=notrunc,sparse status=none
dd if="$work/root.ext4" of="$disk" bs=1M seek=$((first_mib + boot_mib)) conv=notrunc,sparse status=none

rm -rf "$out" && mkdir -p "$out"
mv "$disk" "$work/vmlinuz" "$work/initrd.img" "$work/debs" "$out/"
rm -rf "$work"
echo "base image: $out/disk.img"
