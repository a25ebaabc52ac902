"""SECURITY.md is a vulnerability disclosure policy in the sense of ETSI EN 303 645 provision 5.2-1: a private way to
report, what to include, the timelines for acknowledgement and status updates, the scope, and its links resolve."""

from __future__ import annotations

import re

from tests.docs.test_protocol_doc import REPO

POLICY = REPO / "SECURITY.md"


def sections() -> dict[str, str]:
    text = POLICY.read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2])}


def test_the_policy_says_how_to_report_privately_and_what_to_include() -> None:
    report = sections()["How to report a vulnerability"]
    assert "Report a vulnerability" in report and "Privately" in report and "public issue" in report
    assert "What to include" in report and "steps to reproduce" in report


def test_the_policy_gives_timelines_for_acknowledgement_and_status_updates() -> None:
    steps = sections()["What happens then"]
    assert re.search(r"acknowledge the report \| within \*\*\d+ working days\*\*", steps), steps
    assert re.search(r"Status updates to you \| at least every \*\*\d+ days\*\*", steps), steps


def test_the_policy_has_a_scope_and_answers_etsi_en_303_645_5_2() -> None:
    found = sections()
    assert "In scope" in found["Scope"] and "Out of scope" in found["Scope"]
    etsi = next(body for title, body in found.items() if "EN 303 645" in title)
    assert all(f"**5.2-{n}**" in etsi for n in (1, 2, 3)), etsi


def test_the_policys_links_resolve() -> None:
    links = re.findall(r"\]\(([^)#:]+)\)", POLICY.read_text(encoding="utf-8"))
    assert links and all((REPO / link).exists() for link in links), links
