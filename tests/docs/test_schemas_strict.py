"""The protocol works for a server written in Node.js from docs/protocol.md alone, and the schemas hold what the unit
really sends.

Every schema in agent/schemas (= docs/protocol) compiles under Ajv, the validator most Node.js servers use, in strict
mode; the doc's examples and the reports a unit publishes validate under both Ajv and Python's jsonschema; the doc's
Node.js signing snippet (jose) makes commands a unit obeys, under both names of Ed25519; the limits the schemas set
fit the token cap. Ajv and jose are installed by `setup.sh --dev` (npm ci in tests/docs, from package-lock.json).
"""

from __future__ import annotations

import base64
import json
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import OKPKey

from agent.core.events import MessageArrived, SnapshotTaken, TimerFired
from agent.core.schemas import args_problem, validator
from agent.core.topics import Target, Topics
from agent.core.verify import Command, Policy, load_trust, verify
from province import keys as key_tool
from tests.agent.core.device_helpers import T0, acks, arrive, command, sound_device
from tests.agent.core.test_eboard import board_device
from tests.agent.core.world import World
from tests.docs.test_protocol_doc import REPO, SCHEMAS, busy_unit, marked, unverified_claims

HERE = Path(__file__).resolve().parent
MODULES = HERE / "node_modules"
AJV = MODULES / "ajv" / "package.json"
CHECK = HERE / "ajv_check.mjs"
REPORTS = ("ack", "status", "heartbeat", "event", "playlog", "logs")
TOPIC_KINDS = {"hb": "heartbeat"}  # the report topic's last word -> its schema, where they differ


def ajv(instances: list[tuple[str, Any]]) -> dict[str, Any]:
    """Compile every schema under Ajv strict and validate the instances, in one Node process."""
    assert AJV.is_file(), f"Ajv is not installed in {MODULES}: run ./setup.sh --dev (or npm ci --prefix tests/docs)"
    schemas = {p.stem: str(p) for p in sorted(SCHEMAS.glob("*.json"))}
    request = json.dumps({"schemas": schemas, "instances": instances}, ensure_ascii=False)
    done = subprocess.run(["node", str(CHECK)], input=request, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def unit_reports() -> list[tuple[str, Any]]:
    """(schema, body) of every report a busy unit publishes: acks of every kind, status, heartbeats, play logs,
    events (a fault and no_audio included), logs answers, and a hostile command's rejection."""
    w = busy_unit()
    topic = Topics().device_command("d1")
    emergency = {"source": {"tts": "Lũ quét"}, "priority": "emergency"}
    w.feed(MessageArrived(w.now, topic, command("play", emergency, "e1", w.now)))
    w.feed(MessageArrived(w.now, topic, b"not a token"))
    w.feed(MessageArrived(w.now, topic, command("ping", {}, "e1", w.now)))  # a replay
    w.feed(MessageArrived(w.now, topic, command("config", {"heartbeat_s": 30}, "c1", w.now)))  # an event
    w.feed(TimerFired(w.now, "hb"))
    w.run_until(T0 + 60_000)
    for kind in ("lines", "playlog"):
        w.feed(MessageArrived(w.now, topic, command("logs", {"kind": kind}, f"l-{kind}", w.now)))
    w.run_until(T0 + 130_000)
    return [(TOPIC_KINDS.get(kind, kind), body) for kind, body in w.published + board_reports()]


def board_reports() -> list[tuple[str, dict[str, Any]]]:
    """An e-board with loudspeakers: a text bulletin covered by an emergency play's text, a snapshot, heartbeats."""
    w = World(board_device(sound=True), now=T0)
    topic = Topics().device_command("d1")
    w.feed(MessageArrived(w.now, topic, command("display", {"text": "Họp tổ dân phố", "duration_s": 30}, "t1", w.now)))
    w.run_until(T0 + 2000)
    emergency = {"source": {"tts": "Lũ quét"}, "priority": "emergency", "title": "Cảnh báo"}
    w.feed(MessageArrived(w.now, topic, command("play", emergency, "e1", w.now)))
    w.run_until(T0 + 10_000)
    w.feed(MessageArrived(w.now, topic, command("snapshot", {}, "sn1", w.now)))
    w.feed(SnapshotTaken(w.now, "sn1", "image/jpeg", b"\xff\xd8\xff\xd9", 640, 360))
    w.feed(TimerFired(w.now, "hb"))
    w.run_until(T0 + 700_000)
    return w.published


# ---- Ajv, strict ----------------------------------------------------------------------------------------------


def test_every_schema_compiles_under_ajv_in_strict_mode() -> None:
    compiled = ajv([])["compile"]
    assert set(compiled) == {p.stem for p in SCHEMAS.glob("*.json")} and len(compiled) >= 22, compiled
    failures = {name: error for name, error in compiled.items() if error}
    assert not failures, failures


def test_doc_examples_and_unit_reports_validate_under_ajv() -> None:
    examples = [(name, json.loads(body)) for name, _, body in marked("schema")]
    reports = unit_reports()
    result = ajv(examples + reports)
    assert not result["invalid"], [(i, name, errors, (examples + reports)[i][1]) for i, name, errors in result["invalid"]]


def test_docs_protocol_is_the_agent_schemas_folder() -> None:
    """One set of files: docs/protocol is a link to agent/schemas, so the published schemas are the agent's own."""
    published = REPO / "docs" / "protocol"
    assert published.is_symlink() and published.resolve() == SCHEMAS.resolve()


# ---- a Node.js client from the doc ---------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519"])
def test_the_node_snippet_makes_a_command_the_agent_accepts(tmp_path: Path, alg: str) -> None:
    """The doc's jose snippet, run by Node with `loa keys init` keys (their JWK says "alg": "EdDSA"); with
    alg 'Ed25519' too, as the doc says it works the same."""
    snippets = [body for name, language, body in marked("runnable") if name == "sign-node" and language == "js"]
    assert len(snippets) == 1, "docs/protocol.md needs exactly one ```js block marked <!-- runnable: sign-node -->"
    assert (MODULES / "jose" / "package.json").is_file(), "jose is missing: run ./setup.sh --dev"
    key_tool.init(tmp_path)
    (tmp_path / "node_modules").symlink_to(MODULES)
    (tmp_path / "sign.mjs").write_text(snippets[0].replace("'EdDSA'", f"'{alg}'"), encoding="utf-8")
    done = subprocess.run(["node", "sign.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=" * (-len(token.split(".")[0]) % 4)))
    assert header["alg"] == alg, header
    claims = unverified_claims(token)
    assert claims["aud"] == "dev:gl-0042" and not list(validator("claims").iter_errors(claims)), claims
    policy = Policy(device_id="gl-0042", groups=frozenset(), issuers=frozenset({"province"}))
    trust = load_trust(json.loads((tmp_path / key_tool.TRUST).read_text(encoding="utf-8")))
    result = verify(token.encode(), target=Target("dev", "gl-0042"), retained=False, now_s=claims["iat"],
                    clock_synced=True, seen={}, keys=trust, policy=policy)
    assert isinstance(result, Command) and result.cmd == "volume", result


# ---- what the unit sends ------------------------------------------------------------------------------------


def test_every_report_the_unit_publishes_is_valid_and_every_kind_is_seen() -> None:
    reports = unit_reports()
    assert {name for name, _ in reports} >= set(REPORTS) | {"display", "displaylog"}, sorted({n for n, _ in reports})
    acks = [body for name, body in reports if name == "ack"]
    assert {a["state"] for a in acks} >= {"accepted", "started", "finished", "preempted", "rejected"}, acks
    cut = {(a["cmd"], a["code"]) for a in acks if a["state"] == "preempted"}
    assert cut == {("play", "requeued"), ("display", "ok")}, cut  # as docs/protocol.md section 2.2 says
    for name, body in reports:
        problems = [e.message for e in validator(name).iter_errors(body)]
        assert not problems, (name, body, problems)


def test_the_schemas_require_what_the_doc_says_every_report_carries() -> None:
    for name, fields in (("ack", {"dev"}), ("playlog", {"dev", "play_id"}), ("event", {"dev"}),
                         ("displaylog", {"dev"})):
        assert fields <= set(validator(name).schema["required"]), name
    kinds = validator("playlog").schema["properties"]["source_kind"]["enum"]
    assert kinds == ["url", "stream", "tts", "ref", "alert"]  # alert: section 3.7; never an undocumented "unknown"


# ---- text limits: within the token cap, never blank ----------------------------------------------------------


def _longest_play(text_kind: str) -> dict[str, Any]:
    """A play (or display) with every argument at its schema limit, in Vietnamese letters outside ASCII."""
    play = validator("cmd-play").schema
    tts_max = play["$defs"]["source"]["oneOf"][2]["properties"]["tts"]["maxLength"]
    title_max = play["properties"]["title"]["maxLength"]
    if text_kind == "display":
        text_max = validator("cmd-display").schema["properties"]["text"]["maxLength"]
        return {"text": "ữ" * text_max, "title": "ữ" * title_max, "priority": "emergency", "mode": "page",
                "duration_s": 604800, "until": 1767607200, "replace": True}
    return {"source": {"tts": "ữ" * tts_max, "lang": "vi"}, "priority": "emergency", "volume_pct": 100, "repeat": 20,
            "zones": list(range(1, 33)), "title": "ữ" * title_max, "not_before": 1767600000, "until": 1767607200,
            "replace": True}


def test_the_longest_text_the_schemas_allow_fits_the_token_cap_even_fully_escaped() -> None:
    """Python's json (hence PyJWT) writes every non-ASCII character as a 6-byte \\u escape: the limits must leave
    room for that, with a 128-character jti, a 64-character issuer and group, and nbf."""
    key = OKPKey.generate_key("Ed25519", parameters={"kid": "k" * 43})
    policy = Policy(device_id="d1", groups=frozenset({"g" * 64}), issuers=frozenset({"p" * 64}))
    for cmd in ("play", "display"):
        args = _longest_play(cmd)
        assert args_problem(cmd, args) is None
        claims = {"iss": "p" * 64, "aud": "grp:" + "g" * 64, "iat": 1767600000, "exp": 1767603600,
                  "nbf": 1767600000, "jti": "j" * 128, "cmd": cmd, "args": args}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            token = jws.serialize_compact({"alg": "EdDSA", "kid": "k" * 43, "typ": "JWT"},
                                          json.dumps(claims, ensure_ascii=True), key, algorithms=["EdDSA"]).encode()
        result = verify(token, target=Target("grp", "g" * 64), retained=False, now_s=1767600000, clock_synced=True,
                        seen={}, keys=load_trust({"keys": [key.as_dict(private=False)]}), policy=policy)
        assert isinstance(result, Command), (cmd, len(token), result)


def test_blank_text_is_refused_by_the_schema() -> None:
    for blank in ("", " ", "\n\t ", "\u00a0\u3000"):
        assert args_problem("play", {"source": {"tts": blank}}) is not None, repr(blank)
        assert args_problem("display", {"text": blank}) is not None, repr(blank)
    assert args_problem("play", {"source": {"tts": " Lũ "}}) is None
    assert args_problem("display", {"text": " Lũ "}) is None


def test_a_blank_tts_is_refused_at_once_not_accepted_then_failed() -> None:
    device = sound_device()
    effects = arrive(device, "play", {"source": {"tts": " \n "}, "priority": "emergency"}, "b1", T0 + 1000)
    assert acks(effects) == [("b1", "rejected", "bad_args")]
