"""docs/protocol.md stays honest: its examples match the published schemas, its rejection-code table matches the
source, its topic table matches agent.topics, and its PyJWT snippet makes a command the agent accepts.

Markers in the doc: `<!-- schema: NAME -->` before a ```json example (validated against agent/schemas/NAME.json),
`<!-- runnable: NAME -->` before a ```python block, `<!-- table: NAME -->` before a Markdown table.
"""

from __future__ import annotations

import base64
import json
import random
import re
import time
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from agent.core.device import Device, DeviceSettings, DeviceState
from agent.core.effects import Publish
from agent.core.events import LinkUp, MessageArrived, Started
from agent.core.verify import Command, Policy, load_trust, verify
from agent.topics import REPORTS, Target, Topics
from tools import keys as key_tool

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "protocol.md"
SCHEMAS = REPO / "agent" / "schemas"
VERIFY_SOURCES = (REPO / "agent" / "core" / "verify.py", REPO / "agent" / "core" / "device.py")

EXAMPLES_REQUIRED = (
    "ack", "status", "heartbeat", "event", "claims", "cmd-relay", "cmd-volume", "cmd-config", "cmd-ping",
)
CODES_REQUIRED = {
    "bad_token", "bad_alg", "unknown_key", "bad_signature", "bad_issuer", "expired", "not_yet_valid",
    "wrong_audience", "replay", "retained", "too_large", "bad_args", "unknown_command",
}

MARKER = re.compile(r"^<!-- (schema|runnable|table): ([\w-]+) -->[ \t]*$", re.MULTILINE)
FENCE_AFTER = re.compile(r"\n(?:[ \t]*\n)*```(\w*)\n(.*?)\n```[ \t]*$", re.DOTALL | re.MULTILINE)
ANY_FENCE = re.compile(r"^```(\w*)\n(.*?)\n```[ \t]*$", re.DOTALL | re.MULTILINE)
# A code is the first argument of Rejection("..."), or the first item of a problem tuple ("code", f"message")
# returned or assigned in the verifier.
SOURCE_CODE = re.compile(r'Rejection\(\s*"([a-z_]+)"|(?:return|problem =)\s*\(\s*"([a-z_]+)",\s*f?"')


def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def marked(kind: str) -> list[tuple[str, str, str]]:
    """(name, fence language, body) of every block after a marker of this kind; a marker without a block fails."""
    text, out = doc(), []
    for m in MARKER.finditer(text):
        if m.group(1) != kind:
            continue
        block = FENCE_AFTER.match(text, m.end())
        assert block, f"marker {m.group(0)!r} is not followed by a fenced block"
        out.append((m.group(2), block.group(1), block.group(2)))
    return out


def table(name: str) -> list[dict[str, str]]:
    """The rows of the Markdown table right after `<!-- table: NAME -->`, as {header: cell}."""
    text = doc()
    at = text.find(f"<!-- table: {name} -->")
    assert at >= 0, f"docs/protocol.md has no <!-- table: {name} --> marker"
    lines = [ln for ln in text[at:].splitlines()[1:] if ln.strip()]
    rows = [_cells(ln) for ln in _leading_table(lines)]
    assert len(rows) > 2, f"table {name} is empty"
    return [dict(zip(rows[0], row)) for row in rows[2:]]


def _leading_table(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if not line.startswith("|"):
            break
        out.append(line)
    return out


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def schema(name: str) -> Draft202012Validator:
    path = SCHEMAS / f"{name}.json"
    assert path.is_file(), f"docs/protocol.md names schema {name!r}, but {path} does not exist"
    body = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(body)
    return Draft202012Validator(body)


# ---- examples against the schemas ---------------------------------------------------------------------------


def test_every_marked_example_is_valid_against_its_schema() -> None:
    examples = marked("schema")
    assert examples, "no <!-- schema: ... --> examples found"
    for name, language, body in examples:
        assert language == "json", f"the example marked schema {name!r} is a ```{language} block, not ```json"
        instance = json.loads(body)
        errors = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                  for e in schema(name).iter_errors(instance)]
        assert not errors, f"example for {name} does not match {name}.json: {errors}\n{body}"


def test_every_message_kind_has_an_example() -> None:
    shown = {name for name, _, _ in marked("schema")}
    assert not set(EXAMPLES_REQUIRED) - shown, f"no example for {sorted(set(EXAMPLES_REQUIRED) - shown)}"


def test_every_json_block_parses_and_every_schema_link_exists() -> None:
    text = doc()
    for language, body in ANY_FENCE.findall(text):
        if language == "json":
            json.loads(body)
    links = re.findall(r"\]\(protocol/([\w-]+\.json)\)", text)
    missing = [link for link in links if not (SCHEMAS / link).is_file()]
    assert links and not missing, f"links to schemas that do not exist: {missing}"


# ---- tables against the source ------------------------------------------------------------------------------


def source_codes() -> set[str]:
    found: set[str] = set()
    for path in VERIFY_SOURCES:
        for rejection, problem in SOURCE_CODE.findall(path.read_text(encoding="utf-8")):
            found.add(rejection or problem)
    return found


def test_the_code_table_lists_exactly_the_codes_the_agent_produces() -> None:
    in_source = source_codes()
    assert CODES_REQUIRED <= in_source, f"the source scan lost codes: {sorted(CODES_REQUIRED - in_source)}"
    in_doc = {code for row in table("rejection-codes") for code in re.findall(r"`([a-z_]+)`", row["Code"])}
    assert not in_source - in_doc, f"codes missing from the doc's table: {sorted(in_source - in_doc)}"
    phantom = sorted(in_doc - in_source)
    assert not phantom, f"codes in the doc's table that the agent never produces: {phantom}"


def test_the_topic_table_lists_every_topic() -> None:
    topics = Topics()
    listed = {topic for row in table("topics") for topic in re.findall(r"`([^`]+)`", row["Topic"])}
    wanted = {topics.report("<id>", kind) for kind in REPORTS}
    wanted |= {topics.command(Target("dev", "<id>")), topics.command(Target("grp", "<group>"))}
    assert wanted == listed, f"missing: {sorted(wanted - listed)}, unknown: {sorted(listed - wanted)}"


# ---- the signing snippet makes an accepted command ----------------------------------------------------------


def unverified_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def published_to() -> Target:
    """The command topic of the doc's mosquitto_pub line that publishes the snippet's token."""
    blocks = [body for language, body in ANY_FENCE.findall(doc()) if language == "sh" and "mosquitto_pub" in body]
    topics = [t for body in blocks if "make_command.py" in body for t in re.findall(r"-t (\S+)", body)]
    assert len(topics) == 1, f"expected one mosquitto_pub -t publishing the snippet's token, found {topics}"
    target = Topics().target_of(topics[0])
    assert target is not None, f"{topics[0]} is not a command topic"
    return target


def test_the_pyjwt_snippet_makes_a_command_the_agent_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    snippets = [body for name, language, body in marked("runnable") if name == "sign" and language == "python"]
    assert len(snippets) == 1, "docs/protocol.md needs exactly one ```python block marked <!-- runnable: sign -->"
    key_tool.init(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "protocol_doc_sign"}
    exec(compile(snippets[0], f"{DOC}:runnable:sign", "exec"), namespace)  # noqa: S102 - our own doc's snippet
    token = namespace["token"]
    assert isinstance(token, str) and capsys.readouterr().out.strip() == token

    claims = unverified_claims(token)
    assert not list(schema("claims").iter_errors(claims)), claims
    target = published_to()
    kind, name = target.kind, target.name
    device_id = name if kind == "dev" else "doc-unit"
    groups = frozenset({name} if kind == "grp" else ())
    policy = Policy(device_id=device_id, groups=groups, issuers=frozenset({"province"}))
    trust = load_trust(json.loads((tmp_path / key_tool.TRUST).read_text(encoding="utf-8")))
    now_ms = time.time_ns() // 1_000_000
    result = verify(token.encode(), target=target, retained=False, now_s=now_ms // 1000, clock_synced=True,
                    seen={}, keys=trust, policy=policy)
    assert isinstance(result, Command), result

    settings = DeviceSettings(device_id=device_id, groups=tuple(policy.groups), zones=tuple(range(1, 33)),
                              version="doc", policy=policy)
    device = Device(settings, trust, DeviceState(), random.Random(0))
    device.handle(Started(now_ms))
    device.handle(LinkUp(now_ms))
    effects = device.handle(MessageArrived(now_ms, Topics().command(target), token.encode()))
    acks = [json.loads(e.payload) for e in effects if isinstance(e, Publish) and e.topic.endswith("/ack")]
    assert acks and acks[0]["state"] == "accepted" and all(a["state"] != "rejected" for a in acks), acks
