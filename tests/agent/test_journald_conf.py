"""The journald drop-in a unit's image installs (agent/systemd/journald-loa.conf): every setting is one this
machine's journald knows (a misspelt one is silently ignored, and the card would take the writes), and the journal
stays in RAM."""

from __future__ import annotations

import configparser
from pathlib import Path

from tests.conftest import REPO

DROP_IN = REPO / "agent" / "systemd" / "journald-loa.conf"
JOURNALD = Path("/lib/systemd/systemd-journald")  # Debian's systemd package


def test_every_setting_is_known_to_journald_and_the_journal_stays_in_ram() -> None:
    cfg = configparser.ConfigParser()
    cfg.optionxform = str  # type: ignore[assignment,method-assign]  # journald's keys are case-sensitive
    cfg.read(DROP_IN, encoding="utf-8")
    assert cfg.sections() == ["Journal"]
    known = JOURNALD.read_bytes()
    unknown = [key for key in cfg["Journal"] if f"Journal.{key}\0".encode() not in known]
    assert not unknown, unknown
    assert cfg["Journal"]["Storage"] == "volatile" and cfg["Journal"]["ForwardToSyslog"] == "no"
