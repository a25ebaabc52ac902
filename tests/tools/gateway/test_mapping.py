"""Bodies are built through the profile: a field comes from its source, codes from the profile's maps, a source a
unit does not report yet leaves its field out, and fields a newer unit adds fill in without a code change."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tools.gateway import mapping
from tools.gateway import profile as profiles

PROFILE = profiles.load(profiles.DEFAULT)
STATUS = {"online": True, "dev": "u1", "role": "cluster", "ver": "0.9.0", "volume_pct": 70, "groups": ["xa", "province"],
          "playing": {"jti": "j1", "title": "Tin sáng", "priority": "normal"}, "heartbeat_s": 60}


def test_a_ping_from_todays_status():
    body = mapping.body(PROFILE, "ping", mapping.context(PROFILE, "u1", "xa", STATUS, {"sig": -71}))
    assert body["CumLoaID"] == "u1" and body["DichID"] == "xa" and body["AmLuong"] == 70
    assert body["TrangThaiHoatDong"] == PROFILE.maps["activity"]["playing"]
    assert body["TrangThaiKetNoi"] == "4G,-71dBm"
    assert body["NoiDungPhat"] == "Tin sáng"
    assert body["TenLoaiThietBi"] == "Cụm loa truyền thanh"
    assert "ViDo" not in body and "ThongTinThietBi" not in body  # not reported yet: left out, not invented


def test_fields_a_newer_unit_reports_fill_in_nested_where_the_profile_says():
    health = {"temp_c": 51.5, "mains": True, "amp_w": None, "storage": {"used_bytes": 12_000, "total_bytes": 10**9}}
    status = {**STATUS, "location": {"lat": 13.98, "lon": 108.0}, "health": {**health, "temp_c": 40.0},
              "link": {"type": "Ethernet"}}
    hb = {"health": health}  # the heartbeat's readings are the fresher ones
    body = mapping.body(PROFILE, "ping", mapping.context(PROFILE, "u1", "xa", status, hb))
    assert (body["ViDo"], body["KinhDo"]) == (13.98, 108.0)
    assert body["ThongTinThietBi"] == {"NhietDo": 51.5, "DungLuongSuDung": 12_000}  # no amplifier sensor: left out
    assert body["TrangThaiKetNoi"] == "Ethernet"


def test_a_bulletin_log_takes_its_codes_from_the_profile_and_prefers_bulletin_metadata():
    started = int(datetime(2026, 12, 7, 6, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).timestamp() * 1000)
    log = {"jti": "j9", "play_id": "j9", "title": "Tin", "priority": "emergency", "source_kind": "stream",
           "started_ts": started, "duration_s": 62.6, "result": "completed",
           "bulletin": {"id": "BT-42", "title": "Cảnh báo lũ", "author": {"name": "Đài xã"}}}
    body = mapping.body(PROFILE, "bulletin_log", mapping.context(PROFILE, "u1", "xa", STATUS, {}, log))
    assert body["BanTinID"] == "BT-42" and body["TieuDe"] == "Cảnh báo lũ"
    assert body["MucDoUuTien"] == 1 and body["LoaiBanTin"] == 5 and body["TiepAm"] == 1
    assert body["ThoiLuong"] == 63
    assert body["ThoiDiemBatDau"] == "2026-12-07T06:30:00+0700"
    assert body["TacGia"] == {"TenDayDu": "Đài xã"}


def test_a_value_that_does_not_convert_leaves_its_field_out():
    log = {"jti": "j", "priority": "normal", "source_kind": "url", "started_ts": "yesterday", "duration_s": "long"}
    body = mapping.body(PROFILE, "bulletin_log", mapping.context(PROFILE, "u1", "xa", STATUS, {}, log))
    assert "ThoiDiemBatDau" not in body and "ThoiLuong" not in body and body["BanTinID"] == "j"


def test_a_bulletin_relayed_from_the_central_htttn_says_so_in_its_log_in_both_dialects():
    renamed = profiles.load(Path(__file__).with_name("renamed.toml"))
    log = {"jti": "j7", "priority": "normal", "source_kind": "url", "result": "completed",
           "bulletin": {"id": "TW-1", "origin": "HTTTN trung ương"}}
    for profile, name in ((PROFILE, "NguonTiepAm"), (renamed, "XNguonTiepAm")):
        body = mapping.body(profile, "bulletin_log", mapping.context(profile, "u1", "xa", STATUS, {}, log))
        assert body[name] == "HTTTN trung ương"
