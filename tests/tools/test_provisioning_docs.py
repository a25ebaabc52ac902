"""hw/RETROFIT.md and docs/provisioning.md stay true to the code: every part they name is in hw/, every board in
hw/ is in the retrofit guide (in both languages), prices are marked rough, every option and exit code they give
exists."""

from __future__ import annotations

import argparse
import re

from agent.catalog import boards
from tests.conftest import REPO
from tools import cli_hw, cli_identity

RETROFIT = (REPO / "hw" / "RETROFIT.md").read_text(encoding="utf-8")
PROVISIONING = (REPO / "docs" / "provisioning.md").read_text(encoding="utf-8")


def halves(text: str) -> tuple[str, str]:
    english, _, vietnamese = text.partition("\n---\n")
    return english, vietnamese


def test_the_retrofit_guide_names_every_part_of_hw_in_both_languages_and_nothing_else():
    english, vietnamese = halves(RETROFIT)
    assert vietnamese, "the Vietnamese half follows a --- line"
    for folder in ("boards", "modems", "audio"):
        for name in boards.names(folder):
            assert f"`{name}`" in english and f"`{name}`" in vietnamese, name
    known = {n for f in ("boards", "modems", "audio") for n in boards.names(f)} | {"fake"}
    named = set(re.findall(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`", RETROFIT))
    assert named <= known | {"loa-agent"}, named - known


def test_the_retrofit_prices_are_marked_rough_in_vnd_and_usd():
    english, vietnamese = halves(RETROFIT)
    assert "**Rough prices only**" in english and "**Giá chỉ để tham khảo**" in vietnamese
    assert "(VND)" in english and "(USD)" in english and "(đồng)" in vietnamese


def test_every_provision_option_the_docs_give_exists():
    sub = argparse.ArgumentParser().add_subparsers()
    cli_identity.add_parsers(sub)
    parser = sub.choices["provision"]
    options = {o for action in parser._actions for o in action.option_strings} | {"--lang"}  # loa's own option
    for option in set(re.findall(r"`(--[a-z-]+)", PROVISIONING + RETROFIT)):
        assert option in options, option


def test_the_documented_exit_codes_are_the_commands():
    table = dict(re.findall(r"^\| ([0-2]) \| (\w+)", PROVISIONING, re.MULTILINE))
    assert set(table) == {str(cli_hw.OK), str(cli_hw.PROBLEMS), str(cli_hw.USAGE)}
    vietnamese = " ".join(halves(PROVISIONING)[1].split())
    assert "**0** không có lỗi; **1** có lỗi" in vietnamese and "**2** dùng lệnh sai" in vietnamese


def test_the_boot_partition_folder_is_the_one_flash_sh_uses():
    from tools.flash_bundle import LOA_DIR

    for half in halves(PROVISIONING):
        assert f"`/boot/firmware/{LOA_DIR}/`" in half and f"`bootfs/{LOA_DIR}/config.toml`" in half
