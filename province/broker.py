"""`loa broker`: a local Mosquitto with a generated, locked-down configuration (no anonymous access, one identity
per unit, an ACL that lets a unit read only its own and its groups' command topics and write only its reports).

Listeners, all authenticated, and on each a unit's client id is its name (no unit can take over another's
session): a password listener for units (per-unit passwords, user name = client id), a password listener for
consoles only (which choose their client ids), and a TLS listener (client certificates from `loa ca`, certificate
name = user name = client id, revocation list loaded). Must not import the agent's adapters or runtime.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agent.core.topics import valid_name
from agent.errors import ConfigError
from province import ca, passwd
from province.broker_conf import Listeners, TlsFiles, acl, mosquitto_conf
from province.console import BrokerAccess
from province.files import write_private, write_public
from province.localnet import free_port

CONSOLE = ca.CONSOLE
RESERVED = ca.RESERVED


@dataclass(frozen=True)
class BrokerDir:
    """Everything a broker needs lives in one folder: config, passwords, ACL, TLS identity, persistence, log, pid."""

    root: Path

    conf = property(lambda self: self.root / "mosquitto.conf")
    passwd = property(lambda self: self.root / "passwd")  # units (the unit listener)
    console_passwd = property(lambda self: self.root / "passwd.consoles")  # consoles (the console listener)
    acl = property(lambda self: self.root / "acl")
    pid = property(lambda self: self.root / "mosquitto.pid")
    log = property(lambda self: self.root / "mosquitto.log")
    members = property(lambda self: self.root / "members")
    consoles = property(lambda self: self.root / "consoles")
    staff = property(lambda self: self.root / "staff")  # commune staff: "name commune" per line (province.staff)
    server_key = property(lambda self: self.root / "tls" / "server.key")
    server_cert = property(lambda self: self.root / "tls" / "server.pem")

    def password_file(self, user: str) -> Path:
        return self.root / "credentials" / f"{user}.password"

    def cert_file(self, user: str) -> Path:
        return self.root / "credentials" / f"{user}.pem"

    def key_file(self, user: str) -> Path:
        return self.root / "credentials" / f"{user}.key"

    def port(self) -> int:
        return int((self.root / "port").read_text())

    def console_port(self) -> int:
        return int((self.root / "console_port").read_text())

    def tls_port(self) -> int | None:
        path = self.root / "tls_port"
        return int(path.read_text()) if path.exists() else None

    def ca_dir(self) -> Path | None:
        path = self.root / "ca_dir"
        return Path(path.read_text().strip()) if path.exists() else None

    def prefix(self) -> str:
        return (self.root / "prefix").read_text().strip()


def init(root: Path, port: int | None, *, prefix: str = "loa/v1", bind: str = "127.0.0.1",
         tls_port: int | None = None, ca_dir: Path | None = None, hosts: tuple[str, ...] = (),
         console_port: int | None = None) -> BrokerDir:
    """Write the configuration and the console's identity. Re-running keeps existing identities.

    `port` is the units' password listener (None: TLS only); with it comes the consoles' password listener on
    `console_port` (None: the one chosen before, else a free port). `tls_port` needs `ca_dir`, a folder made by
    `loa ca init`.
    `hosts`: names or addresses units use to reach the broker, besides 127.0.0.1 and localhost (they go into the
    server certificate when it is first made).
    """
    _check_listeners(port, tls_port, ca_dir)
    b = BrokerDir(root)
    (root / "data").mkdir(parents=True, exist_ok=True)
    write_public(root / "prefix", prefix)
    if port is not None:
        write_public(root / "port", str(port))
        console_port = console_port or _chosen_console_port(b)
        write_public(root / "console_port", str(console_port))
        _ensure_console_password(b)
    tls = _ensure_tls(b, ca.load(ca_dir), tls_port, hosts) if tls_port is not None and ca_dir else None
    write_public(b.conf, mosquitto_conf(root, Listeners(port, tls_port, bind, console_port), tls))
    if not b.consoles.exists():
        write_public(b.consoles, CONSOLE + "\n")
    _write_acl(b)
    return b


def _check_listeners(port: int | None, tls_port: int | None, ca_dir: Path | None) -> None:
    if port is None and tls_port is None:
        raise ConfigError("a broker needs a listener: give --port, --tls-port, or both")
    if tls_port is not None and ca_dir is None:
        raise ConfigError("--tls-port needs --ca DIR (a folder made by `loa ca init`)")


def _ensure_tls(b: BrokerDir, authority: ca.Authority, tls_port: int, hosts: tuple[str, ...]) -> TlsFiles:
    """The broker's server certificate and the console's client certificate, made once (keys 0600, here only)."""
    write_public(b.root / "tls_port", str(tls_port))
    write_public(b.root / "ca_dir", str(authority.root.resolve()))
    if not b.server_cert.exists():
        names = tuple(dict.fromkeys(("127.0.0.1", "localhost", *hosts)))
        ca.issue(authority, ca.BROKER, "server", b.server_key, b.server_cert, hosts=names)
    if not b.cert_file(CONSOLE).exists():
        ca.issue(authority, CONSOLE, "console", b.key_file(CONSOLE), b.cert_file(CONSOLE), replace=True)
    return TlsFiles(authority.ca_pem.resolve(), authority.crl_pem.resolve(), b.server_cert.resolve(),
                    b.server_key.resolve())


def _chosen_console_port(b: BrokerDir) -> int:
    return b.console_port() if (b.root / "console_port").exists() else free_port()


def _ensure_console_password(b: BrokerDir) -> None:
    """The console's password opens the console listener only (a folder from before keeps its password)."""
    path = b.password_file(CONSOLE)
    password = path.read_text().strip() if path.exists() else secrets.token_urlsafe(24)
    if not path.exists():
        write_private(path, password + "\n")
    if not any(ln.startswith(f"{CONSOLE}:") for ln in passwd.lines(b.console_passwd)):
        passwd.put(b.console_passwd, [(CONSOLE, password)])
    passwd.remove(b.passwd, CONSOLE)
    if not b.passwd.exists():
        write_private(b.passwd, "")  # the unit listener's, empty until a unit is added


def _add_password(b: BrokerDir, user: str) -> str:
    password = secrets.token_urlsafe(24)
    write_private(b.password_file(user), password + "\n")
    passwd.put(b.passwd, [(user, password)])
    return password


# ---- identities ----------------------------------------------------------------------------------------------------


def add_device(root: Path, device_id: str, groups: tuple[str, ...], *, password: bool = True) -> Path | None:
    """Register a unit's ACL entries (and, for the password listener, its own never-shared password); a running
    broker reloads them. Returns the password file, or None for a unit that authenticates by certificate only."""
    b = check_device_name(root, device_id)
    if password:
        _add_password(b, device_id)
    lines = [ln for ln in _lines(b.members) if ln.split(" ")[0] != device_id]
    write_public(b.members, "\n".join([*lines, " ".join([device_id, *groups])]) + "\n")
    _write_acl(b)
    reload(root)
    return b.password_file(device_id) if password else None


def check_device_name(root: Path, device_id: str) -> BrokerDir:
    """A unit's name must be usable as one ACL user and be nobody else's (the console, the broker, a console)."""
    b = require(root)
    staff = {ln.split(" ")[0] for ln in _lines(b.staff)}
    if device_id in RESERVED or device_id in _lines(b.consoles) or device_id in staff or not valid_name(device_id):
        raise ConfigError(f"device id {device_id!r} cannot be a broker identity")
    return b


def members(root: Path) -> set[str]:
    """The units registered with this broker."""
    return {ln.split(" ")[0] for ln in _lines(BrokerDir(root).members)}


def add_console(root: Path, name: str) -> Path:
    """Another console identity (one per operator or tool: the TLS listener makes the name the client id, so two
    sessions of one identity would push each other off). Returns its certificate; the key is next to it, 0600."""
    b = BrokerDir(root)
    authority = _authority(b)
    if name in members(root) or name == ca.BROKER or name in {ln.split(" ")[0] for ln in _lines(b.staff)}:
        raise ConfigError(f"{name!r} is already a unit, staff or the broker; a console needs its own name")
    ca.issue(authority, name, "console", b.key_file(name), b.cert_file(name))
    write_public(b.consoles, "\n".join(sorted({*_lines(b.consoles), name})) + "\n")
    _write_acl(b)
    reload(root)
    return b.cert_file(name)


def console_access(root: Path) -> BrokerAccess:
    """How the console gets in over its password listener (on the broker's own machine)."""
    b = require(root)
    return BrokerAccess(f"mqtt://127.0.0.1:{b.console_port()}", CONSOLE, b.password_file(CONSOLE).read_text().strip())


def require(root: Path) -> BrokerDir:
    """The broker folder at root, or a clear error when `loa broker` never wrote one there."""
    if not (root / "prefix").is_file():
        raise ConfigError(f"{root} is not a `loa broker` folder")
    return BrokerDir(root)


def forget(root: Path, name: str) -> bool:
    """Take an identity out of the ACL and the password file (after a revocation); a live session keeps its TCP
    connection until it drops, but from the reload on it may read and write nothing. True if it was known."""
    b = require(root)
    members = _lines(b.members)
    kept = [ln for ln in members if ln.split(" ")[0] != name]
    consoles = [c for c in _lines(b.consoles) if c != name]
    known = len(kept) < len(members) or len(consoles) < len(_lines(b.consoles))
    write_public(b.members, "".join(f"{ln}\n" for ln in kept))
    write_public(b.consoles, "".join(f"{c}\n" for c in consoles))
    _forget_password(b, name)
    _write_acl(b)
    reload(root)
    return known


def _forget_password(b: BrokerDir, user: str) -> None:
    if b.password_file(user).exists():
        b.password_file(user).unlink()
    passwd.remove(b.passwd, user)
    passwd.remove(b.console_passwd, user)


def _authority(b: BrokerDir) -> ca.Authority:
    ca_dir = b.ca_dir()
    if ca_dir is None:
        raise ConfigError(f"{b.root} has no TLS listener (run `loa broker {b.root} --tls-port PORT --ca DIR`)")
    return ca.load(ca_dir)


def _lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text().split("\n") if ln] if path.exists() else []


def _write_acl(b: BrokerDir) -> None:
    members = [(ln.split(" ")[0], ln.split(" ")[1:]) for ln in _lines(b.members)]
    staff = [(ln.split(" ")[0], ln.split(" ")[1]) for ln in _lines(b.staff)]
    write_public(b.acl, acl(b.prefix(), _lines(b.consoles) or [CONSOLE], members, staff))


def write_acl(root: Path) -> None:
    """The ACL again from the folder's units, consoles and staff (the caller reloads a running broker)."""
    _write_acl(require(root))


def taken(root: Path) -> set[str]:
    """Every name an identity has on this broker: units, consoles, staff, the reserved ones."""
    b = BrokerDir(root)
    return {*members(root), *_lines(b.consoles), *(ln.split(" ")[0] for ln in _lines(b.staff)), *RESERVED}


def add_password(root: Path, user: str) -> Path:
    """A new identity's own password on the units' listener (where its name is its client id); the file, 0600."""
    b = require(root)
    _add_password(b, user)
    return b.password_file(user)


def forget_password(root: Path, user: str) -> None:
    _forget_password(require(root), user)


# ---- the process ---------------------------------------------------------------------------------------------------


def reload(root: Path) -> bool:
    """SIGHUP: Mosquitto re-reads the ACL, the password file and the CRL. True if running."""
    pid = _running_pid(BrokerDir(root))
    if pid:
        os.kill(pid, signal.SIGHUP)
    return pid is not None


def running(root: Path) -> bool:
    return _running_pid(BrokerDir(root)) is not None


def _running_pid(b: BrokerDir) -> int | None:
    try:
        pid = int(b.pid.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def command(root: Path) -> list[str]:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return [exe, "-c", str(BrokerDir(root).conf)]


def start(root: Path) -> subprocess.Popen[bytes]:
    """Start Mosquitto in the background on the generated config (the caller stops it)."""
    if not Path(command(root)[0]).exists():
        raise ConfigError("mosquitto is not installed (apt-get install mosquitto)")
    return subprocess.Popen(command(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
