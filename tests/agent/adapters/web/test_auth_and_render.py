"""Passwords (scrypt hash, constant-time check), the login brake, and the status page's text in both languages."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from agent.adapters.web import passwords, render
from agent.adapters.web.auth import Logins

FAST = 1 << 10


def test_a_password_verifies_only_against_its_own_hash() -> None:
    pw = passwords.new_password()
    stored = passwords.hash_password(pw, n=FAST)
    assert passwords.verify(pw, stored) and not passwords.verify(pw + "x", stored)
    assert pw not in stored and stored != passwords.hash_password(pw, n=FAST)  # salted
    assert not passwords.verify(pw, "md5$abc") and not passwords.verify(pw, "scrypt$x$8$1$AA==$AA==")
    assert len(pw) == 19 and set(pw) <= set(passwords.ALPHABET + "-")


def test_the_brake_locks_an_address_and_its_lock_grows_but_never_locks_out_an_address_that_did_not_fail() -> None:
    logins = Logins(passwords.hash_password("right", n=FAST), session_s=60)
    for i in range(5):
        assert logins.login("10.0.0.1", "wrong", 100.0 + i) is None
    assert logins.wait_s("10.0.0.1", 105) == 59 and logins.wait_s("10.0.0.2", 105) == 0
    assert logins.login("10.0.0.1", "right", 106) is None  # locked: not even the right password
    assert logins.login("10.0.0.1", "right", 165) is not None
    for i in range(5):
        logins.login("10.0.0.3", "wrong", 170.0 + i)
    assert logins.login("10.0.0.3", "wrong", 235.0) is None and logins.wait_s("10.0.0.3", 235) == 0
    for i in range(4):
        logins.login("10.0.0.3", "wrong", 240.0 + i)
    assert logins.wait_s("10.0.0.3", 243) == 120  # the second lock is twice the first
    for i in range(20):  # 20 failures a minute from everywhere: the addresses that failed wait...
        logins.login(f"10.1.0.{i // 4}", "wrong", 300.0 + i / 10)
    assert logins.wait_s("10.1.0.9", 302) == 0 and logins.wait_s("10.1.0.1", 302) >= 58
    assert logins.wait_s("10.9.9.9", 302) == 0  # ...but a new address may still try the right password
    assert logins.login("10.9.9.9", "right", 302) is not None


def test_a_session_expires_when_idle_and_on_logout() -> None:
    logins = Logins(passwords.hash_password("right", n=FAST), session_s=60)
    sid = logins.login("a", "right", 0.0)
    assert sid and logins.session(sid, 50) and logins.session(sid, 100)  # each use restarts the idle time
    assert logins.session(sid, 161) is None
    sid = logins.login("a", "right", 200.0)
    assert sid
    logins.logout(sid)
    assert logins.session(sid, 201) is None


def test_the_status_page_is_in_vietnamese_or_english_and_escapes_what_it_shows() -> None:
    view = {"status": {"dev": "gl-0042", "role": "eboard", "relays": {"1": True}, "errors": [], "clock_synced": True},
            "link_up": True, "board": {"showing": {"jti": "d1", "title": "<b>x</b>", "text": "Lũ quét", "priority": "emergency"}},
            "logs": [{"ts": 1767600000000, "level": "info", "key": "link_up", "params": {}}], "playlogs": []}
    vi = render.status_page("vi", "gl-0042", view, ZoneInfo("Asia/Ho_Chi_Minh"), "tok")
    en = render.status_page("en", "gl-0042", view, ZoneInfo("Asia/Ho_Chi_Minh"), "tok")
    assert "bảng tin điện tử" in vi and "Đã kết nối với hệ thống thông tin nguồn của tỉnh" in vi and "Lũ quét" in vi
    assert "e-board" in en and "Connected to the provincial server" in en
    assert "<b>x</b>" not in vi and "&lt;b&gt;x&lt;/b&gt;" in vi and "<script" not in vi
