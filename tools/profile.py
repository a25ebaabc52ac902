"""The console profile: the broker, identity, password file and key a person would otherwise type on every `loa`
line. Found at --profile, else $LOA_PROFILE, else ~/.config/loa/profile.toml (absent: no profile); what the line
gives wins over the profile. Paths in it are relative to the profile's folder (`~` works).

    broker = "mqtts://loa.example.vn:8883"
    username = "console"
    password_file = "console.password"
    key = "keys/signing.jwk"
    ca = "ca.pem"

Read through the one TOML -> dataclass engine (agent.config.engine). Must not import the agent's runtime.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from agent.config import engine
from tools.user_input import Refusal

PATHS = ("password_file", "key", "ca", "cert", "client_key")


@dataclass(frozen=True)
class Profile:
    broker: str = ""
    username: str = ""
    password_file: str = ""
    key: str = ""
    ca: str = ""
    cert: str = ""
    client_key: str = ""


def where(explicit: str | None, env: dict[str, str]) -> tuple[Path, bool]:
    """The profile's path, and whether it must exist (it must when named; the default place is optional)."""
    if explicit:
        return Path(explicit).expanduser(), True
    if env.get("LOA_PROFILE"):
        return Path(env["LOA_PROFILE"]).expanduser(), True
    config = Path(env.get("XDG_CONFIG_HOME") or Path(env.get("HOME") or Path.home()) / ".config")
    return config / "loa" / "profile.toml", False


def load(path: Path, required: bool) -> Profile:
    if not path.exists():
        if required:
            raise Refusal("profile_missing", path=path)
        return Profile()
    table = engine.read_toml(path, "profile")
    problems = engine.Problems()
    profile = engine.build(Profile, table, "profile", problems)
    if problems or profile is None:
        raise Refusal.of([("profile_problem", {"path": path, "problem": p}) for p in problems])
    return _resolved(profile, path.parent)


def _resolved(profile: Profile, base: Path) -> Profile:
    paths = {name: str(base / Path(value).expanduser()) for name in PATHS if (value := getattr(profile, name))}
    return dataclasses.replace(profile, **paths)


def fill(args: argparse.Namespace, profile: Profile) -> None:
    """Each option the line left out takes the profile's value (only options the command has)."""
    for f in dataclasses.fields(Profile):
        if hasattr(args, f.name) and not getattr(args, f.name) and getattr(profile, f.name):
            setattr(args, f.name, getattr(profile, f.name))


def missing(args: argparse.Namespace, needed: tuple[str, ...]) -> list[str]:
    """The needed options still empty after the profile, as flags (--broker, --key)."""
    return ["--" + name.replace("_", "-") for name in needed if not getattr(args, name, "")]

