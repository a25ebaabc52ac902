"""A card image booted in QEMU (TCG), the way a Raspberry Pi boots it: the kernel, initrd and command line come from
the card's FAT boot partition on every boot (read with mtools), and a reboot ends the QEMU process (-no-reboot) so
the next boot reads the command line again, as the Pi's firmware does. The test reaches the guest through
qemu-guest-agent on a virtio serial port (commands run inside, their output comes back); the guest reaches the
host's loopback as 10.0.2.2 through QEMU's user networking.

The same card boots on either architecture the images are built for: amd64 (q35) or arm64 (the Pi's; QEMU's virt
board, TCG).

Test helper: must not import agent adapters; it drives only qemu-system-x86_64 or -aarch64 and mtools.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST_FROM_GUEST = "10.0.2.2"  # QEMU user networking: the host's 127.0.0.1
# QEMU's program and board per Debian architecture. Pointer authentication's QARMA cipher is costly under TCG: the
# implementation-defined one keeps `-cpu max` with all its features at a fraction of the cost.
QEMU = {
    "amd64": ("qemu-system-x86_64", ["-machine", "q35", "-cpu", "max"]),
    "arm64": ("qemu-system-aarch64", ["-machine", "virt", "-cpu", "max,pauth-impdef=on"]),
}


def fat_read(disk: Path, offset: int, name: str) -> bytes:
    """A file from the FAT partition at `offset`, read without mounting; b"" when it is missing."""
    run = subprocess.run(["mtype", "-i", f"{disk}@@{offset}", f"::/{name}"], capture_output=True,
                         env={**os.environ, "MTOOLS_SKIP_CHECK": "1"}, check=False)
    return run.stdout if run.returncode == 0 else b""


def fat_list(disk: Path, offset: int) -> list[str]:
    """Every path on the FAT partition (recursive)."""
    run = subprocess.run(["mdir", "-/", "-b", "-i", f"{disk}@@{offset}", "::/"], capture_output=True, text=True,
                         env={**os.environ, "MTOOLS_SKIP_CHECK": "1"}, check=True)
    return [line.strip().removeprefix("::/") for line in run.stdout.splitlines() if line.strip()]


def fat_get(disk: Path, offset: int, name: str, dest: Path) -> Path:
    subprocess.run(["mcopy", "-o", "-i", f"{disk}@@{offset}", f"::/{name}", str(dest)], check=True,
                   env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
    return dest


@dataclass
class Exec:
    code: int
    out: str
    err: str


class GuestAgent:
    """qemu-guest-agent's JSON protocol over the virtio serial port's host-side socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock: socket.socket | None = None
        self.buf = b""
        self.ids = 0

    def _connect(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(str(self.path))
            self.buf = b""
        return self.sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _send(self, command: str, timeout: float, **arguments: Any) -> Any:
        sock = self._connect()
        sock.settimeout(timeout)
        msg = {"execute": command, **({"arguments": arguments} if arguments else {})}
        sock.sendall(json.dumps(msg).encode() + b"\n")
        reply = self._reply(sock)
        if "error" in reply:
            raise RuntimeError(f"guest agent: {reply['error']}")
        return reply.get("return")

    def _reply(self, sock: socket.socket) -> dict[str, Any]:
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                line = line.strip().lstrip(b"\xff")
                if line:
                    reply: dict[str, Any] = json.loads(line)
                    return reply
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("guest agent closed")
            self.buf += data

    def sync(self, timeout: float = 3.0) -> bool:
        """True once the guest agent answers (the guest has booted far enough)."""
        self.ids += 1
        try:
            sock = self._connect()
            sock.settimeout(timeout)
            # Replies to earlier tries (that timed out before the guest answered) are read and dropped here.
            sock.sendall(json.dumps({"execute": "guest-sync-delimited", "arguments": {"id": self.ids}}).encode()
                         + b"\n")
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._reply(sock).get("return") == self.ids:
                    return True
        except (OSError, ValueError, RuntimeError):
            self.close()
        return False

    def run(self, command: str, timeout: float = 60.0) -> Exec:
        """A shell command inside the guest, as root."""
        pid = self._send("guest-exec", 10, path="/bin/sh", arg=["-c", command], **{"capture-output": True})["pid"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self._send("guest-exec-status", 10, pid=pid)
            if status.get("exited"):
                return Exec(status.get("exitcode", -1), _text(status.get("out-data")), _text(status.get("err-data")))
            time.sleep(0.3)
        raise TimeoutError(f"guest command did not finish in {timeout} s: {command}")

    def power_off(self) -> None:
        try:
            self._send("guest-shutdown", 5, mode="powerdown")
        except (OSError, RuntimeError, ValueError):
            pass  # the guest may go down before it answers


def _text(data: str | None) -> str:
    return base64.b64decode(data).decode(errors="replace") if data else ""


class Machine:
    """One boot of the card image; the kernel, initrd and command line are read from the card before it starts."""

    def __init__(self, disk: Path, boot_offset: int, work: Path, memory_mib: int = 1024, arch: str = "amd64") -> None:
        self.disk, self.offset, self.work, self.memory_mib, self.arch = disk, boot_offset, work, memory_mib, arch
        self.proc: subprocess.Popen[bytes] | None = None
        self.boots = 0
        self.agent = GuestAgent(work / "qga.sock")

    @property
    def console_log(self) -> Path:
        return self.work / f"console-{self.boots}.log"

    def cmdline(self) -> str:
        return fat_read(self.disk, self.offset, "cmdline.txt").decode().strip()

    def start(self) -> None:
        self.boots += 1
        kernel = fat_get(self.disk, self.offset, "vmlinuz", self.work / "vmlinuz")
        initrd = fat_get(self.disk, self.offset, "initrd.img", self.work / "initrd.img")
        sock = self.work / "qga.sock"
        sock.unlink(missing_ok=True)
        program, board = QEMU[self.arch]
        args = ["nice", "-n", "10", shutil.which(program) or program, *board,
                "-accel", "tcg", "-smp", "2", "-m", str(self.memory_mib),
                "-display", "none", "-no-reboot", "-serial", f"file:{self.console_log}", "-monitor", "none",
                "-kernel", str(kernel), "-initrd", str(initrd), "-append", self.cmdline(),
                "-drive", f"file={self.disk},format=raw,if=virtio,cache=unsafe",
                "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
                "-chardev", f"socket,path={sock},server=on,wait=off,id=qga0",
                "-device", "virtio-serial", "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=(self.work / f"qemu-{self.boots}.err").open("wb"))
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    def wait_exit(self, timeout: float) -> int | None:
        """The QEMU process's exit code once the guest powered off or rebooted; None if it still runs."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def wait_agent(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                return False
            if self.agent.sync():
                return True
            time.sleep(1)
        return False

    def run(self, command: str, timeout: float = 60.0) -> Exec:
        return self.agent.run(command, timeout)

    def stop(self, timeout: float = 60.0) -> None:
        """Power off cleanly (so the card's file systems are consistent), or kill QEMU if the guest does not go."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.agent.power_off()
        if self.wait_exit(timeout) is None:
            self.proc.kill()
            self.proc.wait(10)
        self.agent.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.agent.close()

    def console(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-6000:] for p in sorted(self.work.glob("console-*.log")))
