"""The pure translation of an inbound bulletin into Loa commands, through each profile (the default dialect and one
that renames every field and code): weekly schedules, date ranges, one-off and monthly dates, an emergency now,
e-board text and images, a bulletin relayed from the central HTTTN to the whole province."""

from __future__ import annotations

from typing import Any

import pytest

from agent.core.schemas import validator
from agent.core.topics import Target
from tests.tools.gateway.bulletin_helpers import bulletin_body, code
from tests.tools.gateway.helpers import PROFILES
from tools.gateway import bulletin_plan as plans
from tools.gateway.bulletin_plan import Media, Step
from tools.gateway.bulletin_read import BadBulletin, read
from tools.gateway.profile import Profile, load

AREAS = {"X01": "xa-ia-grai", "X02": "xa-ia-pech", "T64": "province"}
MEDIA = Media("http://httt.tinh.example.vn/media/bt-42.mp3", "ab" * 32)
META = {"title": "Phòng chống bão số 9", "subject": "2", "summary": "Bão số 9 đổ bộ…", "produced_at": "2026-12-07T08:00",
        "author_name": "Nguyễn Văn A", "source": "Đài PT-TH tỉnh"}


@pytest.fixture(params=sorted(PROFILES))
def profile(request: pytest.FixtureRequest) -> Profile:
    return load(PROFILES[request.param])


def planned(profile: Profile, body: dict[str, Any], others: dict[str, list[dict[str, Any]]] | None = None) -> list[Step]:
    b = read(profile, body)
    to = plans.targets(b, AREAS, "province")
    steps = plans.plan(b, to, MEDIA, others or {}, {t.audience: 7 for t in to})
    for s in steps:  # every command is valid protocol v1
        assert not list(validator(f"cmd-{s.cmd}").iter_errors(s.args)), (s.cmd, s.args)
    return steps


def scheduled(profile: Profile, **parts: Any) -> dict[str, Any]:
    return bulletin_body(profile, id="BT-2026-0042", areas=["X01"], media=MEDIA.url, mode="schedule", **META, **parts)


def test_a_weekly_schedule_stores_the_audio_then_sends_the_programme(profile: Profile) -> None:
    body = scheduled(profile, schedule_kind="weekly", starts=["06:30:00.000000", "17:00:00.000000"],
                     ends=["06:45:00.000000", "17:10:30.000000"], start_date="2026-12-08", end_date="2026-12-19",
                     days=[code(profile, "weekday", d) for d in (1, 3, 5)])
    store, sched = planned(profile, body)
    assert (store.target, store.cmd) == (Target("grp", "xa-ia-grai"), "store")
    assert store.args["url"] == MEDIA.url and store.args["sha256"] == MEDIA.sha256
    assert store.args["bulletin"] == {"id": "BT-2026-0042", "title": META["title"], "field": "2",
                                      "summary": META["summary"], "produced_at": META["produced_at"],
                                      "author": {"name": "Nguyễn Văn A"}, "source": "Đài PT-TH tỉnh"}
    assert (sched.target, sched.cmd, sched.args["version"]) == (Target("grp", "xa-ia-grai"), "schedule", 7)
    ref = store.args["id"]
    assert sched.args["slots"] == [
        {"kind": "weekly", "days": [1, 3, 5], "at": at, "source": {"ref": ref}, "from": "2026-12-08", "to": "2026-12-19",
         "duration_s": length, "title": META["title"]} for at, length in (("06:30:00", 900), ("17:00:00", 630))]


def test_a_date_range_every_day(profile: Profile) -> None:
    body = scheduled(profile, schedule_kind="daily", starts=["05:30:00.000000"], start_date="2026-12-08",
                     end_date="2026-12-10")
    slot = planned(profile, body)[1].args["slots"][0]
    assert (slot["kind"], slot["at"], slot["from"], slot["to"]) == ("daily", "05:30:00", "2026-12-08", "2026-12-10")
    assert "days" not in slot and "dates" not in slot and "duration_s" not in slot


def test_one_off_dates(profile: Profile) -> None:
    body = scheduled(profile, schedule_kind="once", starts=["18:00:00.000000"], days=[20261213, 20261214])
    slot = planned(profile, body)[1].args["slots"][0]
    assert (slot["kind"], slot["dates"], slot["at"]) == ("once", ["2026-12-13", "2026-12-14"], "18:00:00")


def test_a_monthly_schedule_becomes_one_off_dates_within_its_range(profile: Profile) -> None:
    body = scheduled(profile, schedule_kind="monthly", starts=["07:00:00.000000"], days=[1, 15],
                     start_date="2026-12-08", end_date="2027-02-01")
    slot = planned(profile, body)[1].args["slots"][0]
    assert slot["dates"] == ["2026-12-15", "2027-01-01", "2027-01-15", "2027-02-01"]


def test_an_emergency_plays_now_on_every_area_whatever_its_schedule_says(profile: Profile) -> None:
    body = bulletin_body(profile, id="KC-1", areas=["X01", "X02"], media=MEDIA.url, priority="emergency",
                         mode="schedule", starts=["23:00:00.000000"], title="Cảnh báo lũ quét")
    steps = planned(profile, body)
    assert [(s.target.name, s.cmd) for s in steps] == [("xa-ia-grai", "play"), ("xa-ia-pech", "play")]
    assert steps[0].args == {"source": {"url": MEDIA.url, "sha256": MEDIA.sha256}, "priority": "emergency",
                             "title": "Cảnh báo lũ quét", "bulletin": {"id": "KC-1", "title": "Cảnh báo lũ quét"}}


def test_a_bulletin_whose_mode_says_now_plays_now_at_its_level(profile: Profile) -> None:
    body = bulletin_body(profile, id="UT-1", areas=["X02"], media=MEDIA.url, priority="priority", mode="now")
    (step,) = planned(profile, body)
    assert (step.cmd, step.args["priority"]) == ("play", "priority")


def test_a_live_relay_plays_the_stream_now_until_its_duration_is_over(profile: Profile) -> None:
    body = bulletin_body(profile, id="TS-1", areas=["X01"], content_kind="stream", media="http://radio.vn/live.m3u8",
                         mode="now", duration_s="1800")
    b = read(profile, body)
    (step,) = plans.plan(b, plans.targets(b, AREAS, "province"), None, {}, {}, now_ms=1_767_600_000_000)
    assert step.args["source"] == {"stream": "http://radio.vn/live.m3u8"}
    assert step.args["until"] == 1_767_600_000 + 1800
    assert not list(validator("cmd-play").iter_errors(step.args))


def test_eboard_text_and_image_become_display(profile: Profile) -> None:
    text = bulletin_body(profile, id="BD-1", areas=["X01"], content_kind="text", text="Cắt điện thôn 3 từ 7 giờ",
                         title="Điện lực")
    (step,) = planned(profile, text)
    assert (step.cmd, step.args["text"], step.args["title"]) == ("display", "Cắt điện thôn 3 từ 7 giờ", "Điện lực")
    image = bulletin_body(profile, id="BD-2", areas=["X01"], content_kind="image", media=MEDIA.url)
    (step,) = planned(profile, image)
    assert step.args["image"] == {"url": MEDIA.url, "sha256": MEDIA.sha256}


def test_relayed_from_central_to_the_province_is_one_group_publish_with_its_origin(profile: Profile) -> None:
    body = bulletin_body(profile, id="TW-7", areas=["X01", "T64", "X02"], media=MEDIA.url, origin="central",
                         mode="now")
    (step,) = planned(profile, body)
    assert step.target == Target("grp", "province")
    assert step.args["bulletin"] == {"id": "TW-7", "origin": "central"}
    no_areas = bulletin_body(profile, id="TW-8", media=MEDIA.url, origin="central", mode="now")
    assert [s.target for s in planned(profile, no_areas)] == [Target("grp", "province")]


def test_the_programme_keeps_the_other_bulletins_slots(profile: Profile) -> None:
    other = {"at": "05:00", "source": {"ref": "htttn-old"}}
    body = scheduled(profile, starts=["06:00:00.000000"])
    sched = planned(profile, body, {"grp:xa-ia-grai": [other]})[1]
    assert sched.args["slots"][0] == other and sched.args["slots"][1]["at"] == "06:00:00"


@pytest.mark.parametrize("parts, says", [
    ({"priority": 9}, "unknown code"),
    ({"areas": ["X99"]}, "unknown areas: X99"),
    ({"starts": ["25:00:00.000000"]}, "not a time of day"),
    ({"media": "ftp://x/a.mp3"}, r"no http\(s\) media URL"),
    ({"id": ""}, "missing or bad bulletin id"),
])
def test_a_body_that_is_not_a_bulletin_is_refused_with_its_reason(profile: Profile, parts: dict[str, Any],
                                                                  says: str) -> None:
    body = scheduled(profile, starts=["06:00:00.000000"])
    fields = profile.inbound.bulletin
    assert fields is not None
    for name, value in parts.items():
        body.update(bulletin_body(profile, **{name: value}) if name != "priority" else
                    {fields.priority: value})
    with pytest.raises(BadBulletin, match=says):
        planned(profile, body)


def test_a_stored_id_is_safe_for_any_bulletin_id() -> None:
    assert plans.ref_id("BT-2026-0042") == "htttn-BT-2026-0042"
    odd = plans.ref_id("Bản tin/số 9")
    assert odd.startswith("htttn-") and plans.REF.match(odd)
