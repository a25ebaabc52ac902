"""Whether the kernel says the system clock is synchronised: adjtimex(2) with modes = 0 only reads.

timesyncd, chrony (with NTS where the server offers it) and ntpd clear the kernel's STA_UNSYNC status bit once they
have disciplined the clock; until then adjtimex answers TIME_ERROR. Under systemd's ProtectClock=yes (systemd 252,
Debian 12) even this read is refused with EPERM: the flag file of systemd-timesyncd is then the only witness left.
ctypes and the C library only; must not import the core.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
from pathlib import Path

TIME_ERROR = 5  # adjtimex's answer while the clock is not synchronised
STA_UNSYNC = 0x0040
TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")


class _Timex(ctypes.Structure):
    """The head of struct timex (<sys/timex.h>) up to `status`; the rest is room the kernel writes into."""

    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("rest", ctypes.c_byte * 256)]


def synchronised(state: int, status: int) -> bool:
    """adjtimex's answer and status word: synchronised unless TIME_ERROR or the STA_UNSYNC bit."""
    return state >= 0 and state != TIME_ERROR and not status & STA_UNSYNC


def read_adjtimex() -> tuple[int, int]:
    """(state, status) from adjtimex(modes=0); OSError when the call is refused (ProtectClock, seccomp)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    tx = _Timex()
    state = int(libc.adjtimex(ctypes.byref(tx)))
    if state < 0:
        code = ctypes.get_errno() or errno.EPERM
        raise OSError(code, f"adjtimex: {errno.errorcode.get(code, code)}")
    return state, int(tx.status)


def kernel_synced(flag_file: Path = TIMESYNC_FLAG) -> bool:
    """The kernel's flag; where reading it is refused, timesyncd's flag file (absent: not synchronised)."""
    try:
        return synchronised(*read_adjtimex())
    except OSError:
        return flag_file.exists()
