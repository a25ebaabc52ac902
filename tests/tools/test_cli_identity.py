"""The `loa ca`, `loa keys rotate`, `loa provision` (one unit or --csv) and `loa broker` commands as a technician
types them, and their messages in English and Vietnamese."""

from __future__ import annotations

import argparse
import re
import string
import tomllib
import unicodedata
from pathlib import Path

import pytest
from cryptography import x509

from agent.errors import ConfigError
from province import broker, keys
from tests.conftest import REPO
from tools import cli_identity


def loa(*argv: str | Path, lang: str = "en") -> int:
    """Parse and run like tools.cli does once it registers cli_identity's parsers."""
    p = argparse.ArgumentParser(prog="loa")
    p.add_argument("--lang", default=lang)
    sub = p.add_subparsers(dest="command", required=True)
    cli_identity.add_parsers(sub)
    cli_identity.add_keys_parsers(sub.add_parser("keys").add_subparsers(dest="keys_command", required=True))
    args = p.parse_args([str(a) for a in argv])
    return int(args.fn(args))


def test_ca_init_provision_and_revoke(tmp_path, capsys):
    keys.init(tmp_path / "keys")
    assert loa("ca", "init", tmp_path / "ca") == 0
    assert loa("provision", "dev-7", "--trust", tmp_path / "keys/trust.jwks", "--broker", "mqtts://127.0.0.1:8883",
               "--out", tmp_path / "dev-7", "--ca-dir", tmp_path / "ca", "--group", "xa-a") == 0
    assert (tmp_path / "dev-7" / "unit.key").exists()
    with pytest.raises(ConfigError, match=f"{tmp_path / 'nobroker'} is not a `loa broker` folder"):
        loa("ca", "revoke", tmp_path / "ca", "dev-7", "--broker-dir", tmp_path / "nobroker")
    broker.init(tmp_path / "broker", 1883)
    assert loa("ca", "revoke", tmp_path / "ca", "dev-7", "--broker-dir", tmp_path / "broker", lang="vi") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"Device CA ready in {tmp_path / 'ca'}: certificate")
    assert out[1] == f"Unit dev-7 provisioned: {tmp_path / 'dev-7' / 'config.toml'}"
    assert out[2] == f"Label for dev-7's box: {tmp_path / 'dev-7-label.svg'} (print it; it holds no secret)"
    assert re.fullmatch(r"Status page password of dev-7 \(shown once: .*\): [a-z2-9]{4}(-[a-z2-9]{4}){3} \(port 8080\)",
                        out[3]), out[3]
    assert out[4].startswith("Đã thu hồi chứng chỉ của dev-7 (số sê-ri ")
    assert out[5] == f"Máy chủ MQTT {tmp_path / 'broker'} chưa chạy; danh sách thu hồi sẽ được nạp khi khởi động"
    with pytest.raises(ConfigError, match="dev-7 has no valid certificate"):
        loa("ca", "revoke", tmp_path / "ca", "dev-7")


def test_provision_takes_one_id_or_a_csv_file(tmp_path, capsys):
    keys.init(tmp_path / "keys")
    common = ("--trust", tmp_path / "keys/trust.jwks", "--broker", "mqtt://127.0.0.1:1883", "--out", tmp_path / "u")
    (tmp_path / "units.csv").write_text("id,commune,lat,lon,groups\nb-1,xa-a,13.1,108.1,province\n")
    with pytest.raises(ConfigError, match="give one DEVICE_ID, or --csv FILE"):
        loa("provision", *common)
    with pytest.raises(ConfigError, match="give one DEVICE_ID, or --csv FILE"):
        loa("provision", "b-1", "--csv", tmp_path / "units.csv", *common)
    assert loa("provision", "--csv", tmp_path / "units.csv", *common) == 0
    unit_line, done, passwords = capsys.readouterr().out.splitlines()
    assert re.fullmatch(re.escape(f"  b-1: {tmp_path / 'u' / 'b-1'} (no credentials); status page password ")
                        + r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", unit_line), unit_line
    assert done == f"1 units provisioned; report {tmp_path / 'u' / 'provisioned.csv'}"
    assert passwords == f"Status page passwords in {tmp_path / 'u' / 'passwords.csv'} (mode 0600: print the labels, " \
                        "then delete it)"
    saved = tmp_path / "u" / "passwords.csv"
    assert saved.stat().st_mode & 0o777 == 0o600
    assert saved.read_bytes().decode("utf-8") == (
        f"\ufeffUnit;Commune;Status page password\r\nb-1;xa-a;{unit_line.rsplit(' ', 1)[1]}\r\n")


def test_keys_rotate_explains_both_steps(tmp_path, capsys):
    keys.init(tmp_path)
    assert loa("keys", "rotate", tmp_path, lang="vi") == 0
    assert loa("keys", "rotate", tmp_path, "--finish", "--device", "dev-1") == 0
    step1, step2 = capsys.readouterr().out.splitlines()
    assert step1.startswith(f"Đổi khóa, bước 1: khóa mới {tmp_path / keys.NEXT} (bí mật, quyền 0600). Gửi ")
    assert f"loa keys rotate {tmp_path} --finish" in step1
    assert step2.startswith(f"Key rotation, step 2: send {tmp_path / 'rotate-2.jwt'} to dev:dev-1")


def test_keys_init_gateway_and_adopt_root_say_where_the_root_key_belongs(tmp_path, capsys):
    from tools import cli

    init = cli.parser().parse_args(["--lang", "en", "keys", "init", str(tmp_path / "k")])
    assert init.fn(init) == 0
    assert loa("keys", "gateway", tmp_path / "k", "httn-1", "--grant-group", "xa-a", "--grant-level", "normal") == 0
    written, gateway = capsys.readouterr().out.splitlines()
    assert f"root key {tmp_path / 'k' / keys.ROOT}" in written and "offline media" in written
    assert gateway.startswith(f"Gateway key {tmp_path / 'k' / keys.GATEWAYS / 'httn-1.jwk'} for httn-1")
    legacy = tmp_path / "legacy"
    keys.init(legacy)
    (legacy / keys.ROOT).unlink()
    assert loa("keys", "adopt-root", legacy, lang="vi") == 0
    assert capsys.readouterr().out.startswith(f"Đã tạo khóa gốc {legacy / keys.ROOT}")


def test_broker_with_tls_only_writes_its_config_then_runs_mosquitto(tmp_path, capsys, monkeypatch):
    ran: list[list[str]] = []

    def execv(_exe: str, argv: list[str]) -> None:
        ran.append(argv)
        raise SystemExit(0)

    monkeypatch.setattr("os.execv", execv)
    assert loa("ca", "init", tmp_path / "ca") == 0
    with pytest.raises(SystemExit):
        loa("broker", tmp_path / "b", "--tls-port", "8883", "--ca-dir", tmp_path / "ca", "--no-password-listener",
            "--bind", "0.0.0.0", "--host", "mqtt.gialai.example", "--host", "10.0.0.5")
    conf = (tmp_path / "b" / "mosquitto.conf").read_text()
    assert "listener 8883 0.0.0.0" in conf and "require_certificate true" in conf and "password_file" not in conf
    assert ran == [[ran[0][0], "-c", str(tmp_path / "b" / "mosquitto.conf")]]
    assert capsys.readouterr().out.splitlines()[-1].startswith("TLS listener on 0.0.0.0:8883")
    server = x509.load_pem_x509_certificate((tmp_path / "b" / "tls" / "server.pem").read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "mqtt.gialai.example"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "10.0.0.5"]


def strings(lang: str) -> dict[str, str]:
    return tomllib.loads((REPO / "tools" / "strings" / f"{lang}.toml").read_text(encoding="utf-8"))


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_exists_in_both_languages_with_the_same_fields_in_nfc():
    en, vi = strings("en"), strings("vi")
    assert set(en) == set(vi)
    for key in en:
        assert fields(en[key]) == fields(vi[key]), key
        assert unicodedata.normalize("NFC", vi[key]) == vi[key], key


@pytest.mark.parametrize("key, words", [
    ("flash_target_system", ["từ chối", "chứa hệ thống đang chạy", "hãy chọn thẻ SD"]),
    ("flash_hash_mismatch", ["tệp ảnh", "tệp hỏng hoặc tải nhầm"]),
    ("ca_revoked", ["Đã thu hồi chứng chỉ", "số sê-ri"]),
    ("keys_rotate_2", ["Đổi khóa, bước 2", "chỉ tin khóa mới", "đã lỡ bước 1"]),
    ("batch_done", ["Đã cấu hình", "cụm loa", "báo cáo"]),
])
def test_vietnamese_messages_carry_their_diacritics(key, words):
    for word in words:
        assert word in strings("vi")[key], (key, word)


def test_provision_puts_the_release_trust_set_into_the_bundle_for_updates(tmp_path):
    from agent import app
    from agent.config import unit as config
    from tools import release

    keys.init(tmp_path / "keys")
    release.keygen(tmp_path / "release")
    common = ("--trust", tmp_path / "keys/trust.jwks", "--broker", "mqtt://127.0.0.1:1883")
    with pytest.raises(ConfigError, match="--release-trust: file not found"):
        loa("provision", "u-0", *common, "--out", tmp_path / "u-0", "--release-trust", tmp_path / "nothing.jwks")
    assert not (tmp_path / "u-0").exists()
    assert loa("provision", "u-1", *common, "--out", tmp_path / "u-1",
               "--release-trust", tmp_path / "release" / release.RELEASE_TRUST) == 0
    cfg = config.load(tmp_path / "u-1" / "config.toml")
    assert cfg.update.trust == release.RELEASE_TRUST and (tmp_path / "u-1" / release.RELEASE_TRUST).is_file()
    assert len(app.read_release_trust(cfg, {}).keys) == 1  # the unit checks releases with it
    assert loa("provision", "u-2", *common, "--out", tmp_path / "u-2") == 0  # without: updates stay refused
    assert config.load(tmp_path / "u-2" / "config.toml").update.trust == ""
