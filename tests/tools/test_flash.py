"""flash.sh end to end on a synthetic disk image (an MBR partition table, a FAT32 boot partition with cmdline.txt and an
ext4 root partition, made without mounting anything): the bundle, a wheelhouse and the first-boot hook land intact in
the boot partition, the rest of the image is written as it was, and every refusal is one clear line before anything
is written."""

from __future__ import annotations

import hashlib
import lzma
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from province import ca
from tests.conftest import REPO
from tools.flash_bundle import Payload, put
from tools.flash_fat import FlashError
from tools.provision import UnitSpec, provision

FLASH = REPO / "flash.sh"
MIB = 1 << 20
BOOT_START = 2048  # sectors: the boot partition starts at 1 MiB, as on a Raspberry Pi OS image
MTOOLS = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
CMDLINE = "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait\n"
HOOK = ("systemd.run=/boot/firmware/firstrun.sh systemd.run_success_action=reboot "
        "systemd.unit=kernel-command-line.target")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_image(path: Path, *, fat: bool = True) -> Path:
    """38 MiB: partition 1 FAT32 (34 MiB, type 0x0c, bootable), partition 2 ext4 (3 MiB)."""
    with path.open("wb") as f:
        f.truncate(38 * MIB)
    table = "label: dos\nstart=2048, size=34M, type=c, bootable\ntype=83\n" if fat else "label: dos\ntype=83\n"
    subprocess.run(["sfdisk", "-q", str(path)], input=table, text=True, check=True)
    if fat:
        subprocess.run(["mkfs.vfat", "-F", "32", "-n", "BOOT", f"--offset={BOOT_START}", str(path), str(34 * 1024)],
                       check=True, capture_output=True)
        cmdline = path.with_name("cmdline.txt")
        cmdline.write_text(CMDLINE)  # as on a Raspberry Pi OS image
        subprocess.run(["mcopy", "-i", f"{path}@@{BOOT_START * 512}", str(cmdline), "::/cmdline.txt"], check=True,
                       env=MTOOLS)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-E", f"offset={(BOOT_START + 34 * 2048) * 512}", str(path), "3072"],
                   check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_image(tmp_path_factory.mktemp("os") / "os.img")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, keys: Path) -> Path:
    root = tmp_path_factory.mktemp("bundle")
    authority = ca.init(root / "ca")
    out = root / "units" / "dev-042"
    provision(UnitSpec("dev-042", keys / "trust.jwks", "mqtts://127.0.0.1:8883", out, groups=("xa-a", "province"),
                       ca_dir=authority.root))
    (out / "state").mkdir()
    (out / "state" / "agent.sqlite3").write_bytes(b"local test state, must not travel")
    return out


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in wheelhouse: the real one (tools.flash_wheels) is some 50 MB, more than the test image's FAT holds."""
    root = tmp_path_factory.mktemp("wheels")
    for name in ("loa-0.1.0-py3-none-any.whl", "paho_mqtt-2.2.0-py3-none-any.whl"):
        with zipfile.ZipFile(root / name, "w") as whl:
            whl.writestr("README", name)
    return root


WHEELS: list[Path] = []


@pytest.fixture(autouse=True)
def _wheelhouse(wheels: Path) -> None:
    WHEELS[:] = [wheels]


def flash(*args: str | Path, lang: str = "en", env: dict[str, str] | None = None,
          wheelhouse: bool = True) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "LOA_LANG": lang, "LOA_PYTHON": sys.executable, **(env or {})}
    extra = ["--wheels", str(WHEELS[0])] if wheelhouse and "--wheels" not in args else []
    return subprocess.run(["bash", str(FLASH), *map(str, args), *extra], capture_output=True, text=True, timeout=60,
                          env=environment, stdin=subprocess.DEVNULL, check=False)


def fat_text(disk: Path, name: str) -> str:
    return subprocess.run(["mtype", "-i", f"{disk}@@{BOOT_START * 512}", f"::/{name}"], check=True, env=MTOOLS,
                          capture_output=True, text=True).stdout


def read_back(disk: Path, into: Path) -> Path:
    """The /loa folder of the disk's boot partition, copied out with mtools (independently of flash.sh's helper)."""
    into.mkdir()
    subprocess.run(["mcopy", "-i", f"{disk}@@{BOOT_START * 512}", "-s", "-n", "::/loa", str(into)], check=True,
                   env=MTOOLS, capture_output=True)
    return into / "loa"


def test_the_image_is_written_and_the_bundle_lands_intact_in_the_boot_partition(image, bundle, tmp_path):
    card = tmp_path / "card.img"
    done = flash("--image", image, "--target", card, "--bundle", bundle, "--sha256", sha(image.read_bytes()).upper())
    assert done.returncode == 0, done.stderr
    loa = read_back(card, tmp_path / "back")
    for name in ("config.toml", "trust.jwks", "ca.pem", "unit.pem", "unit.key", "status-page.hash"):
        assert sha((loa / "bundle" / name).read_bytes()) == sha((bundle / name).read_bytes()), name
    assert not (loa / "bundle" / "state").exists()
    assert (loa / "loa-agent.service").read_bytes() == (REPO / "agent/systemd/loa-agent.service").read_bytes()
    assert sorted(p.name for p in (loa / "wheels").iterdir()) == sorted(p.name for p in WHEELS[0].iterdir())
    check = subprocess.run(["sha256sum", "-c", "MANIFEST.sha256"], cwd=loa, capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0 and check.stdout.count(": OK") == 9, check.stdout
    assert fat_text(card, "cmdline.txt") == CMDLINE.strip() + " " + HOOK + "\n"
    assert fat_text(card, "firstrun.sh") == (REPO / "agent/systemd/firstrun.sh").read_text()
    written, original = card.read_bytes(), image.read_bytes()
    assert len(written) == len(original)
    assert written[:BOOT_START * 512] == original[:BOOT_START * 512]  # partition table untouched
    assert written[(BOOT_START + 34 * 2048) * 512:] == original[(BOOT_START + 34 * 2048) * 512:]  # root partition
    summary = done.stdout[done.stdout.index("===== flash.sh summary"):].splitlines()
    assert len(summary) <= 24 and all(len(line) <= 160 for line in summary)
    assert summary[1] == f"Image:    {image} ({38 * MIB} bytes, SHA-256 {sha(original)})"
    assert "Unit:     dev-042 (groups: xa-a, province)" in summary
    assert "Firmware: skipped (no --port given)" in summary


def test_an_existing_card_image_keeps_its_size_and_the_summary_speaks_vietnamese(image, bundle, tmp_path):
    card = tmp_path / "card.img"
    with card.open("wb") as f:
        f.truncate(64 * MIB)
    done = flash("--image", image, "--target", card, "--bundle", bundle, lang="vi")
    assert done.returncode == 0, done.stderr
    assert card.stat().st_size == 64 * MIB
    assert "===== Tóm tắt flash.sh =====" in done.stdout
    assert "Firmware:  bỏ qua (không có --port)" in done.stdout
    assert "Thời gian:" in done.stdout and "lắp thẻ vào cụm loa và bật nguồn" in done.stdout


def test_a_compressed_image_is_streamed_written_and_verified(image, bundle, tmp_path):
    """.img.xz: decompressed on the way to the card (no uncompressed copy), --sha256 is the download's own hash, and
    the read-back is compared with the stream's hash."""
    packed = tmp_path / "os.img.xz"
    packed.write_bytes(lzma.compress(image.read_bytes(), preset=0))
    card = tmp_path / "card.img"
    done = flash("--image", packed, "--target", card, "--bundle", bundle, "--sha256", sha(packed.read_bytes()))
    assert done.returncode == 0, done.stderr
    written, original = card.read_bytes(), image.read_bytes()
    assert len(written) == len(original)
    assert written[(BOOT_START + 34 * 2048) * 512:] == original[(BOOT_START + 34 * 2048) * 512:]
    assert f"Image:    {packed} ({38 * MIB} bytes, SHA-256 {sha(original)})" in done.stdout
    assert fat_text(card, "cmdline.txt").endswith(HOOK + "\n")
    assert not list(tmp_path.glob("*.img.tmp*"))


def test_a_damaged_compressed_image_is_refused_before_writing(image, bundle, tmp_path):
    packed = tmp_path / "os.img.xz"
    packed.write_bytes(lzma.compress(image.read_bytes(), preset=0)[:-64])  # a download cut short
    card = tmp_path / "card.img"
    line = refused(flash("--image", packed, "--target", card, "--bundle", bundle))
    assert line == f"flash.sh: refused: {packed} is not a readable .xz image (damaged or incomplete download)"
    assert not card.exists()


def test_flashing_the_same_card_twice_hooks_the_first_boot_once(image, bundle, tmp_path):
    card = tmp_path / "card.img"
    for _ in range(2):
        assert flash("--image", image, "--target", card, "--bundle", bundle).returncode == 0
    assert fat_text(card, "cmdline.txt") == CMDLINE.strip() + " " + HOOK + "\n"


def root_device() -> str:
    """The device the running system's / is mounted from, as /proc/mounts names it."""
    for line in Path("/proc/mounts").read_text().splitlines():
        source, where = line.split()[:2]
        if where == "/" and source.startswith("/dev/"):
            return source
    raise AssertionError("/ is not mounted from a /dev/ device here; this test needs a machine or VM that is")


def refused(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_refuses_the_disk_that_holds_the_running_system(image, bundle):
    # A wrong --sha256 too: were the disk check ever broken, the hash check would still stop the write.
    done = flash("--image", image, "--target", root_device(), "--bundle", bundle, "--sha256", "0" * 64)
    assert refused(done) == (f"flash.sh: refused: {root_device()} holds the running system "
                             f"({root_device()} on /); choose the SD card")


def test_refuses_a_mounted_card(image, bundle, tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text(f"{root_device()} / ext4 rw 0 0\n/dev/sdz1 /media/tech/bootfs vfat rw 0 0\n")
    done = flash("--image", image, "--target", "/dev/sdz", "--bundle", bundle, "--sha256", "0" * 64,
                 env={"LOA_FLASH_MOUNTS": str(mounts)})
    assert refused(done) == "flash.sh: refused: /dev/sdz is mounted (/dev/sdz1 on /media/tech/bootfs); unmount it first"


@pytest.mark.parametrize("case", ["missing bundle", "bundle without config", "bad hash", "small target",
                                  "missing image", "missing card", "target is the image", "image without FAT",
                                  "missing wheelhouse", "unknown architecture"])
def test_refusals_are_one_line_and_write_nothing(image, bundle, tmp_path, case):
    card = tmp_path / "card.img"
    args = {"--image": str(image), "--target": str(card), "--bundle": str(bundle)}
    expected = {
        "missing bundle": (("--bundle", str(tmp_path / "nope")), f"bundle folder {tmp_path / 'nope'} not found"),
        "bundle without config": (("--bundle", str(tmp_path)), f"bundle {tmp_path} has no config.toml"),
        "bad hash": (("--sha256", "ab" * 32), f"has SHA-256 {sha(image.read_bytes())}, expected {'ab' * 32}"),
        "small target": (("--target", str(card)), f"{card} holds {16 * MIB} bytes, the image needs {38 * MIB}"),
        "missing image": (("--image", str(tmp_path / "os.img")), f"image {tmp_path / 'os.img'} not found"),
        "missing card": (("--target", "/dev/sdzz"), "/dev/sdzz does not exist (is the card inserted?)"),
        "target is the image": (("--target", str(image)), "the target is the image itself"),
        "image without FAT": (("--image", str(make_image(tmp_path / "nofat.img", fat=False))),
                              f"no FAT boot partition in {tmp_path / 'nofat.img'}"),
        "missing wheelhouse": (("--wheels", str(tmp_path / "wh")), f"wheelhouse folder {tmp_path / 'wh'} not found"),
        "unknown architecture": (("--arch", "arm64"), "--arch arm64: choose aarch64 (Raspberry Pi OS 64-bit)"),
    }[case]
    args[expected[0][0]] = expected[0][1]
    if case == "small target":
        card.write_bytes(b"\0" * (16 * MIB))
    before = card.read_bytes() if card.exists() else None
    line = refused(flash(*[x for pair in args.items() for x in pair]))
    assert line.startswith("flash.sh: refused: ") and expected[1] in line, line
    assert (card.read_bytes() if card.exists() else None) == before


def test_a_refusal_in_vietnamese(image, tmp_path):
    line = refused(flash("--image", image, "--target", tmp_path / "c.img", "--bundle", tmp_path / "nope", lang="vi"))
    assert line == f"flash.sh: từ chối: không tìm thấy thư mục gói cấu hình {tmp_path / 'nope'}"


@pytest.mark.parametrize("args, line", [
    (("--image", "x"), "flash.sh: --target is required (see --help)"),
    (("--frobnicate",), "flash.sh: unknown option --frobnicate (see --help)"),
    (("--image", "x", "--target", "y", "--bundle", "z", "--port", "/dev/ttyACM9"),
     "flash.sh: refused: --port needs --firmware DIR containing deploy.sh"),
])
def test_bad_usage_is_one_line(args, line):
    assert refused(flash(*args)) == line


def test_a_bundle_that_reads_back_different_is_an_error(image, bundle, tmp_path, monkeypatch):
    """The read-back compares every file: a boot partition that returns other bytes is caught."""
    card = tmp_path / "card.img"
    card.write_bytes(image.read_bytes())
    import tools.flash_bundle as helper
    import tools.flash_fat

    real = tools.flash_fat.get_tree

    def corrupting(part, name, into):
        loa = real(part, name, into)
        (loa / "bundle" / "trust.jwks").write_bytes(b"{}")
        return loa

    monkeypatch.setattr(helper, "get_tree", corrupting)
    with pytest.raises(FlashError, match="loa/bundle/trust.jwks read back from the boot partition differs"):
        put(card, bundle, tmp_path / "work", Payload(WHEELS[0]))


def test_with_a_port_the_firmware_is_compiled_and_copied_with_mpremote(image, bundle, tmp_path):
    """mpy-cross runs for real; mpremote is a stand-in on PATH that records what it was asked (no board here)."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "mpremote.calls"
    bin_dir.mkdir()
    (bin_dir / "mpremote").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    (bin_dir / "mpremote").chmod(0o755)
    done = flash("--image", image, "--target", tmp_path / "card.img", "--bundle", bundle,
                 "--firmware", REPO / "firmware", "--port", "/dev/ttyACM9",
                 env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    copy = next(line for line in calls.read_text().splitlines() if " fs cp " in line)
    assert copy.startswith("connect /dev/ttyACM9 fs cp ") and copy.endswith(":main.py + reset")
    assert ".mpy" in copy and "coproc.mpy" in copy
    assert "Firmware: flashed on /dev/ttyACM9" in done.stdout


def test_a_crafted_target_name_runs_no_code(image, bundle, tmp_path):
    """The target path is data: quotes and braces in a file name must not become part of an awk (or any) program."""
    marker = tmp_path / "pwned"
    crafted = tmp_path / 'card" } BEGIN { printf "x" > ENVIRON["LOA_PWN"] } { print "'
    crafted.write_bytes(b"\0" * (16 * MIB))
    line = refused(flash("--image", image, "--target", crafted, "--bundle", bundle,
                         env={"LOA_PWN": str(marker)}))
    assert not marker.exists()
    assert line.startswith("flash.sh: refused: ") and "the image needs" in line, line
