#!/usr/bin/env bash
# Builds the base image the booted-unit test flashes: Debian 12 with Raspberry Pi OS's layout (a FAT boot partition
# labelled bootfs holding cmdline.txt, mounted at /boot/firmware; an ext4 root labelled rootfs; systemd), as a raw
# disk image, without loop mounts (mmdebstrap into a folder, mkfs.ext4 -d, mkfs.vfat + mtools, sfdisk on a file).
#
#   tests/image/build-base.sh OUT_DIR [amd64]
#
# OUT_DIR gets: disk.img (the card image), vmlinuz and initrd.img (also on the boot partition, so QEMU boots the
# kernel the card carries), debs/ (libVLC and espeak-ng with every dependency the base lacks: Raspberry Pi OS Lite
# has neither, so the unit's first boot installs them from the card).
# Like Raspberry Pi OS Lite it has python3 and python3-venv, and no libVLC or espeak-ng. qemu-guest-agent is the
# test's way in (the test runs `systemctl show` and `journalctl` inside the guest through it); it is not part of Loa.
# Needs root (or mmdebstrap's unshare mode), mmdebstrap, e2fsprogs, dosfstools, mtools, fdisk. Only the host's own
# architecture works here: its hooks run the image's apt-get in a chroot, and no binfmt_misc handler may be
# registered for a foreign one (an arm64 image would have to finish configuring inside qemu-system-aarch64).
set -euo pipefail

out="${1:?usage: build-base.sh OUT_DIR [amd64]}"
arch="${2:-amd64}"
host_arch="$(dpkg --print-architecture)"
[ "$arch" = "$host_arch" ] || { echo "build-base.sh: only $host_arch images can be built here" >&2; exit 2; }
suite=bookworm
mirror="${LOA_IMAGE_MIRROR:-http://deb.debian.org/debian}"
boot_mib=512
root_mib=2048
first_mib=4  # the boot partition starts 4 MiB in, as on Raspberry Pi OS images

kernel="linux-image-cloud-$arch"  # virtio drivers, no hardware a VM lacks: small, quick to boot
base_packages=(systemd-sysv udev dbus kmod "$kernel" initramfs-tools python3 python3-venv ca-certificates
  iproute2 procps e2fsprogs dosfstools qemu-guest-agent)
# What first boot must install (the unit's Debian dependencies that Raspberry Pi OS Lite leaves out).
unit_packages=(libvlc5 vlc-plugin-base libvlc-bin espeak-ng)

work="$out.work"
rm -rf "$work" && mkdir -p "$work/debs"
root="$work/root"

# The root file system's own settings: what a Raspberry Pi OS image has that matters here.
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

nice -n 10 mmdebstrap --variant=minbase --architectures="$arch" --components=main \
  --include="$(IFS=,; echo "${base_packages[*]}")" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --customize-hook='chroot "$1" apt-get clean' \
  --customize-hook="chroot \"\$1\" apt-get install -y -qq --download-only --no-install-recommends ${unit_packages[*]}" \
  --customize-hook="cp \"\$1\"/var/cache/apt/archives/*.deb '$work/debs/'" \
  "$suite" "$root" "$mirror"

configure "$root"
cp "$(ls "$root"/boot/vmlinuz-* | sort | tail -n 1)" "$work/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | sort | tail -n 1)" "$work/initrd.img"
chmod 0644 "$work/vmlinuz" "$work/initrd.img"

# The boot partition: what the Pi's firmware reads (cmdline.txt, config.txt) and, for QEMU, the kernel it boots.
printf 'console=ttyS0 root=LABEL=rootfs rootfstype=ext4 fsck.repair=yes rootwait quiet\n' >"$work/cmdline.txt"
printf '# Raspberry Pi firmware settings (unused under QEMU)\narm_64bit=1\n' >"$work/config.txt"
rm -f "$work/boot.vfat"
mkfs.vfat -F 32 -n bootfs -C "$work/boot.vfat" $((boot_mib * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mcopy -i "$work/boot.vfat" "$work/cmdline.txt" "$work/config.txt" "$work/vmlinuz" "$work/initrd.img" ::/

nice -n 10 mkfs.ext4 -q -F -L rootfs -d "$root" "$work/root.ext4" "${root_mib}M"

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
