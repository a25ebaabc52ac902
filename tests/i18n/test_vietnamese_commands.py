"""`loa send --wait` and `loa status` in `vi` against a real broker and a real agent: every line Vietnamese, no English
word outside the technical tokens (ack states were printed as the protocol spells them)."""

from __future__ import annotations

from pathlib import Path

from province.console import Console
from tests.conftest import Broker
from tests.e2e.link_helpers import UnitWatch
from tests.i18n.english_words import english_in, english_words
from tests.tools.test_cli_console import loa, write_profile


def test_send_wait_and_status_speak_vietnamese(make_unit, console: Console, broker: Broker, keys: Path,
                                                tmp_path: Path) -> None:
    unit = make_unit()
    UnitWatch(console, unit).wait_online()
    profile = str(write_profile(tmp_path, broker, keys))
    words = english_words()
    sent = loa("--lang", "vi", "--profile", profile, "send", "ping", "--device", unit.device_id, "--wait", "10")
    assert sent.returncode == 0 and "đã xong" in sent.stdout, sent.stdout + sent.stderr
    assert english_in(sent.stdout + sent.stderr, words) == [], sent.stdout
    status = loa("status", "--lang", "vi", "--profile", profile, "--wait", "2")
    assert status.returncode == 0, status.stdout + status.stderr
    assert english_in(status.stdout + status.stderr, words) == [], status.stdout
