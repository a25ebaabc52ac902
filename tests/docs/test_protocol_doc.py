"""docs/protocol.md stays honest: its examples match the published schemas, its tables of codes, events, report
fields and log message keys match the source, its topic table matches agent.core.topics, its links resolve, and its
PyJWT snippet makes a command the agent accepts.

Markers in the doc: `<!-- schema: NAME -->` before a ```json example (validated against agent/schemas/NAME.json),
`<!-- runnable: NAME -->` before a ```python block, `<!-- table: NAME -->` before a Markdown table.
"""

from __future__ import annotations

import ast
import base64
import inspect
import json
import random
import re
import string
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from agent import errors, i18n
from agent.core import reports
from agent.core.device import Device, DeviceSettings, DeviceState
from agent.core.effects import Publish
from agent.core.events import (
    Fault,
    LevelObserved,
    LinkUp,
    MessageArrived,
    PrepareFailed,
    Started,
    Telemetry,
    TimerFired,
)
from agent.core.playout import Playout
from agent.core.schemas import known_commands
from agent.core.sound import Refusal
from agent.core.topics import REPORTS, Target, Topics
from agent.core.verify import Command, Policy, Rejection, load_trust, verify
from agent.ports import FAIL_REASONS
from agent.runtime.preparer import failed_event
from province import keys as key_tool
from tests.agent.core.device_helpers import T0, command, sound_device
from tests.agent.core.world import World

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "protocol.md"
SCHEMAS = REPO / "agent" / "schemas"
STRINGS = REPO / "agent" / "strings"
CORE = REPO / "agent" / "core"
# Rejections made here are verification (table rejection-codes); rejections made by the sound desk are refusals of
# valid commands (table refusal-codes); failed/expired codes from either go to table failure-codes.
VERIFY_SOURCES = (CORE / "verify.py", CORE / "scopes.py", CORE / "device.py", CORE / "unit_desk.py", CORE / "time_rule.py")
SOUND_SOURCES = (CORE / "sound.py", CORE / "playout.py", CORE / "arbiter.py", CORE / "schedule.py", REPO / "agent/runtime/preparer.py")
BOARD_SOURCES = (CORE / "eboard.py",)  # scanned for the keys it logs (its acks are the display section's)
# The adapters behind the preparer's ports (AudioCache, SpeechSynth): the preparer turns every LoaError they raise
# into a failed ack carrying that error's `code`.
PREPARE_ADAPTERS = (REPO / "agent/adapters/audio/download_cache.py", REPO / "agent/adapters/audio/espeak_tts.py",
                    REPO / "agent/adapters/audio/checked_http.py", REPO / "agent/adapters/audio/stream_gate.py")

EXAMPLES_REQUIRED = (
    "ack", "status", "heartbeat", "event", "claims", "cmd-relay", "cmd-volume", "cmd-config", "cmd-ping",
    "cmd-play", "cmd-stop", "cmd-store", "cmd-schedule", "cmd-logs", "playlog", "logs", "logreq",
)
CODES_REQUIRED = {
    "bad_token", "bad_alg", "unknown_key", "bad_signature", "bad_issuer", "expired", "not_yet_valid",
    "wrong_audience", "replay", "retained", "too_large", "bad_args", "unknown_command", "not_allowed",
}
# Floors for the source scan: if a refactoring hides these from it, the scan is broken, not the doc.
REFUSALS_REQUIRED = {"quiet_hours", "bad_args"}
FAILURES_REQUIRED = {
    "hash_mismatch", "download_failed", "quota_exceeded", "storage_error", "audio_error", "stream_stalled",
    "stream_dropped", "source_unreachable", "decode_error", "output_error", "max_on_time", "not_found", "expired",
}
EVENTS_REQUIRED = {"started", "config_changed", "relay_stuck", "no_audio"}

MARKER = re.compile(r"^<!-- (schema|runnable|table): ([\w-]+) -->[ \t]*$", re.MULTILINE)
FENCE_AFTER = re.compile(r"\n(?:[ \t]*\n)*```(\w*)\n(.*?)\n```[ \t]*$", re.DOTALL | re.MULTILINE)
ANY_FENCE = re.compile(r"^```(\w*)\n(.*?)\n```[ \t]*$", re.DOTALL | re.MULTILINE)
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
LOG_LEVELS = ("debug", "info", "warning", "error")
NO_TEXT = "(no text in the strings files)"  # log-keys table: a key the strings files lack


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


def examples(name: str) -> list[Any]:
    return [json.loads(body) for n, _, body in marked("schema") if n == name]


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


def column(name: str, header: str) -> set[str]:
    """The `code` words of one column of a table (a cell may list several)."""
    return {word for row in table(name) for word in re.findall(r"`([^`]+)`", row[header])}


def schema(name: str) -> Draft202012Validator:
    path = SCHEMAS / f"{name}.json"
    assert path.is_file(), f"docs/protocol.md names schema {name!r}, but {path} does not exist"
    body = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(body)
    return Draft202012Validator(body)


# ---- examples against the schemas ---------------------------------------------------------------------------


def test_every_marked_example_is_valid_against_its_schema() -> None:
    found = marked("schema")
    assert found, "no <!-- schema: ... --> examples found"
    for name, language, body in found:
        assert language == "json", f"the example marked schema {name!r} is a ```{language} block, not ```json"
        instance = json.loads(body)
        errors_ = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                   for e in schema(name).iter_errors(instance)]
        assert not errors_, f"example for {name} does not match {name}.json: {errors_}\n{body}"


def test_every_message_kind_and_every_command_has_an_example() -> None:
    shown = {name for name, _, _ in marked("schema")}
    wanted = set(EXAMPLES_REQUIRED) | {f"cmd-{c}" for c in known_commands()}
    assert not wanted - shown, f"no example for {sorted(wanted - shown)}"


def test_every_command_has_its_section_and_is_listed_as_known() -> None:
    text = doc()
    missing = [c for c in sorted(known_commands()) if not re.search(rf"^#### `{c}` — ", text, re.MULTILINE)]
    assert not missing, f"no '#### `name` — ...' section for {missing}"
    step = next(row for row in table("rejection-codes") if "`unknown_command`" in row["Code"])
    listed = set(re.findall(r"`(\w+)`", step["The command is refused when…"])) - {"cmd"}
    assert listed == known_commands(), f"step 12 lists {sorted(listed)}, the agent knows {sorted(known_commands())}"


def test_every_play_source_kind_has_an_example() -> None:
    """One `play` example per branch of the schema's `source` oneOf (url+sha256, stream, tts, ref, and any later)."""
    branches = json.loads((SCHEMAS / "cmd-play.json").read_text(encoding="utf-8"))["$defs"]["source"]["oneOf"]
    kinds = {b["required"][0]: Draft202012Validator(b) for b in branches}
    shown = {kind for play in examples("cmd-play") for kind, v in kinds.items() if v.is_valid(play["source"])}
    assert shown == set(kinds), f"no cmd-play example with a {sorted(set(kinds) - shown)} source"


def test_every_json_block_parses_and_every_relative_link_exists() -> None:
    text = doc()
    for language, body in ANY_FENCE.findall(text):
        if language == "json":
            json.loads(body)
    links = [link.split("#")[0] for link in re.findall(r"\]\(([^)#][^)]*)\)", text) if "://" not in link]
    assert any(link.startswith("protocol/") for link in links), "no links to the schemas"
    missing = [link for link in links if not (DOC.parent / link).exists()]
    assert not missing, f"links to files that do not exist: {missing}"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_internal_link_points_at_a_heading() -> None:
    text = doc()
    anchors = {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}
    broken = sorted(set(re.findall(r"\]\(#([^)]+)\)", text)) - anchors)
    assert not broken, f"links to headings that do not exist: {broken}"


# ---- codes: the doc's tables against the source -------------------------------------------------------------
#
# The three code tables must list exactly the codes the agent can put in an ack. The codes are read from the
# source with `ast` (not by running it), so a code on a rare path — a full disk, a dead stream — counts as much
# as a common one, and comments or docstrings never count:
#
# 1. Calls that carry a code in a parameter named `code`: Rejection(...), Refusal(...), ack/reply(...), end(...),
#    PrepareFailed(...). Each call's arguments are bound to the callee's real signature (inspect.signature), so
#    positional and keyword calls both work and a changed signature moves the extraction with it (a call that no
#    longer binds fails the test). Every string literal inside the argument counts (`"a" if x else "b"`,
#    `detail or "audio_error"`); `ok` is not a code. An argument without a literal (`r.code`, `problem[0]`,
#    `code`) only passes on a code made elsewhere, and that place is scanned by one of the other rules.
#    Rejection and Refusal are rejections; for the others the call's `state` literal decides: `rejected` is a
#    rejection, anything else (failed, expired) an end code. A call through an imported module is told apart by
#    its module (`reports.ack`, the payload builder, is not the sound desk's `host.ack`).
# 2. Problem tuples `("code", "message" or f"message")`, which the verifier and the sound desk turn into
#    rejections.
# 3. Errors raised by the adapters behind the preparer: `raise HashMismatch(...)` contributes HashMismatch.code
#    from agent/errors.py.
# 4. agent.ports.FAIL_REASONS: the reasons a player may give for a failed play, which become its code.

CARRIERS: dict[str, Callable[..., Any]] = {
    "Rejection": Rejection, "Refusal": Refusal, "ack": Device.ack, "reply": Device.reply, "end": Playout.end,
    "PrepareFailed": PrepareFailed, "failed_event": failed_event, "reports.ack": reports.ack,
}


def bound(call: ast.Call, fn: Callable[..., Any], where: str) -> dict[str, ast.expr]:
    """The call's argument expressions by parameter name, bound to fn's signature (methods: without self)."""
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    if params and params[0].name == "self":
        sig = sig.replace(parameters=params[1:])
    try:
        args = sig.bind(*call.args, **{kw.arg: kw.value for kw in call.keywords if kw.arg})
    except TypeError as exc:
        raise AssertionError(f"{where}: call does not match {fn.__qualname__}{sig}: {exc}") from None
    return dict(args.arguments)


def literals(node: ast.AST | None) -> set[str]:
    """Every whole string literal in an expression; the pieces of an f-string are not literals of their own."""
    if node is None or isinstance(node, ast.JoinedStr):
        return set()
    if isinstance(node, ast.Constant):
        return {node.value} if isinstance(node.value, str) else set()
    return set().union(*(literals(child) for child in ast.iter_child_nodes(node)))


def calls(path: Path) -> Iterator[tuple[ast.Call, str, str]]:
    """(call, callee, file:line) of every call in a source file. The callee is `module.name` for a call through an
    imported module (`reports.ack`), else the bare name (`self.host.ack` -> `ack`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               for alias in node.names if alias.name.islower()}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in modules:
                name = f"{func.value.id}.{name}"
            yield node, name, f"{path.relative_to(REPO)}:{node.lineno}"


def problem_tuples(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        value = node.value if isinstance(node, (ast.Return, ast.Assign)) else None
        if isinstance(value, ast.Tuple) and len(value.elts) == 2:
            code, msg = value.elts
            if isinstance(code, ast.Constant) and isinstance(code.value, str) and CODE.match(code.value) and (
                isinstance(msg, ast.JoinedStr) or (isinstance(msg, ast.Constant) and isinstance(msg.value, str))
            ):
                found.add(code.value)
    return found


def ack_codes(paths: tuple[Path, ...]) -> tuple[set[str], set[str]]:
    """(rejection codes, end codes) found by rules 1 and 2 in these files."""
    rejected: set[str] = set()
    ended: set[str] = set()
    for path in paths:
        rejected |= problem_tuples(path)
        for call, name, where in calls(path):
            if name not in CARRIERS:
                continue
            args = bound(call, CARRIERS[name], where)
            codes = {c for c in literals(args.get("code")) if c != "ok"}
            states = literals(args.get("state"))
            if name in ("Rejection", "Refusal") or "rejected" in states:
                rejected |= codes
            if name not in ("Rejection", "Refusal") and states != {"rejected"}:
                ended |= codes
    return rejected, ended


def raised_error_codes(paths: tuple[Path, ...]) -> set[str]:
    found = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            exc = node.exc if isinstance(node, ast.Raise) else None
            name = exc.func.id if isinstance(exc, ast.Call) and isinstance(exc.func, ast.Name) else None
            cls = getattr(errors, name, None) if name else None
            if isinstance(cls, type) and issubclass(cls, errors.LoaError):
                found.add(cls.code)
    return found


def source_codes() -> set[str]:
    """Codes of verification rejections (table rejection-codes)."""
    return ack_codes(VERIFY_SOURCES)[0]


def sound_codes() -> tuple[set[str], set[str]]:
    """(refusal codes, failure codes) of sound commands (tables refusal-codes and failure-codes)."""
    refused, ended = ack_codes(SOUND_SOURCES)
    ended |= ack_codes(VERIFY_SOURCES)[1] | raised_error_codes(PREPARE_ADAPTERS) | set(FAIL_REASONS)
    return refused, ended


def same_codes(name: str, in_source: set[str], floor: set[str]) -> None:
    assert floor <= in_source, f"the source scan lost codes: {sorted(floor - in_source)}"
    in_doc = column(name, "Code")
    assert not in_source - in_doc, f"codes missing from the doc's {name} table: {sorted(in_source - in_doc)}"
    phantom = sorted(in_doc - in_source)
    assert not phantom, f"codes in the doc's {name} table that the agent never produces: {phantom}"


def test_the_code_table_lists_exactly_the_codes_the_agent_produces() -> None:
    same_codes("rejection-codes", source_codes(), CODES_REQUIRED)


def test_the_refusal_table_lists_exactly_the_refusals_of_valid_commands() -> None:
    same_codes("refusal-codes", sound_codes()[0], REFUSALS_REQUIRED)


def test_the_failure_table_lists_exactly_the_failure_codes_the_agent_produces() -> None:
    same_codes("failure-codes", sound_codes()[1], FAILURES_REQUIRED)


def test_the_topic_table_lists_every_topic() -> None:
    topics = Topics()
    listed = {topic for row in table("topics") for topic in re.findall(r"`([^`]+)`", row["Topic"])}
    wanted = {topics.report("<id>", kind) for kind in REPORTS}
    wanted |= {topics.command(Target("dev", "<id>")), topics.command(Target("grp", "<group>"))}
    wanted |= {topics.log_request(Target("dev", "<id>")), topics.log_request(Target("grp", "<group>"))}
    assert wanted == listed, f"missing: {sorted(wanted - listed)}, unknown: {sorted(listed - wanted)}"


# ---- events and report fields against what the core publishes -----------------------------------------------


def source_events() -> set[str]:
    """Event names: the `name` of Device.event(...) calls, and {"event": "..."} bodies the sound desk reports."""
    found: set[str] = set()
    for path in VERIFY_SOURCES + SOUND_SOURCES:
        for call, name, where in calls(path):
            if name == "event":
                found |= literals(bound(call, Device.event, where).get("name"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                found |= {v.value for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)
                          and k.value == "event" and isinstance(v, ast.Constant) and isinstance(v.value, str)}
    return found


def test_the_event_table_lists_exactly_the_events_and_each_has_an_example() -> None:
    in_source = source_events()
    assert EVENTS_REQUIRED <= in_source, f"the source scan lost events: {sorted(EVENTS_REQUIRED - in_source)}"
    listed = {row["`event`"].strip("`") for row in table("events")}
    assert listed == in_source, f"missing: {sorted(in_source - listed)}, unknown: {sorted(listed - in_source)}"
    shown = {e["event"] for e in examples("event")}
    assert not listed - shown, f"no example of the events {sorted(listed - shown)}"


def published(w: World, kind: str) -> list[dict[str, Any]]:
    return [body for k, body in w.published if k == kind]


def busy_unit() -> World:
    """A unit with a modem, a fault and a level sensor, playing one bulletin with another waiting."""
    w = World(sound_device(), now=T0 + 1000)
    w.feed(Telemetry(w.now, {"signal_dbm": -71, "operator": "Viettel", "registration": "home", "iccid": "8984"}))
    w.feed(Fault(w.now, "store", True, "disk full"))
    source = {"url": "http://x/a.mp3", "sha256": "a" * 64}
    for jti in ("n1", "n2"):
        w.feed(MessageArrived(w.now, Topics().device_command("d1"), command("play", {"source": source}, jti, w.now)))
    w.run_until(T0 + 3000)
    w.feed(LevelObserved(w.now, -12.0))
    w.run_until(T0 + 3500)
    return w


def test_the_status_heartbeat_and_playlog_tables_list_every_field() -> None:
    w = busy_unit()
    w.feed(TimerFired(w.now, "hb"))
    w.run_until(T0 + 30_000)
    produced = {
        "status-fields": set().union(*map(set, published(w, "status"))),
        "heartbeat-fields": set().union(*map(set, published(w, "hb"))),
        "playlog-fields": set().union(*map(set, published(w, "playlog"))),
    }
    for name, fields in produced.items():
        in_schema = set(schema(name.split("-")[0]).schema["properties"])
        listed = column(name, "Field")
        assert fields, f"the unit published no {name}"
        assert not fields - listed, f"{name}: fields the unit sends that the doc omits: {sorted(fields - listed)}"
        assert not in_schema - listed, f"{name}: schema fields the doc does not list: {sorted(in_schema - listed)}"
        assert not listed - fields - in_schema, f"{name}: fields nobody sends: {sorted(listed - fields - in_schema)}"


# ---- staff logs: message keys and the logs answer -----------------------------------------------------------


def strings(lang: str) -> dict[str, str]:
    return dict(tomllib.loads((STRINGS / f"{lang}.toml").read_text(encoding="utf-8")))


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def logged_keys() -> set[str]:
    """Message keys the core may put in its staff log, hence in a logs answer: the literal keys of Device.log and
    host.log calls, plus keys built as f"{name}<suffix>" (a fault's `_error` and `_recovered`) for every fault name
    the agent raises (Fault(...) events and Device.fault(...) calls). The strings files also hold texts that are
    not log lines (the status page's), so they cannot be the list."""
    keys: set[str] = set()
    suffixes: set[str] = set()
    for path in VERIFY_SOURCES + SOUND_SOURCES + BOARD_SOURCES:
        for call, name, where in calls(path):
            if name == "log":
                key = bound(call, Device.log, where).get("key")
                keys |= literals(key)
                parts = key.values if isinstance(key, ast.JoinedStr) else []
                if len(parts) == 2 and isinstance(parts[0], ast.FormattedValue) and isinstance(parts[1], ast.Constant):
                    suffixes.add(str(parts[1].value))
    faults: set[str] = set()
    for path in sorted((REPO / "agent").rglob("*.py")):
        for call, name, where in calls(path):
            if name in ("Fault", "fault"):
                faults |= literals(bound(call, Fault if name == "Fault" else Device.fault, where).get("name"))
    return keys | {fault + suffix for fault in faults for suffix in suffixes}


def test_the_log_key_table_lists_exactly_the_keys_the_core_logs() -> None:
    en, vi = strings("en"), strings("vi")
    rows = {row["Key"].strip("`"): row for row in table("log-keys")}
    in_source = logged_keys()
    assert {"agent_started", "command_rejected", "no_audio", "store_error"} <= in_source, "the source scan broke"
    assert set(rows) == in_source, f"missing: {sorted(in_source - set(rows))}, unknown: {sorted(set(rows) - in_source)}"
    for key, row in rows.items():
        if key not in en:
            assert row["English text"] == NO_TEXT, f"{key} is not in agent/strings/en.toml: say {NO_TEXT}"
            continue
        params = set(re.findall(r"`(\w+)`", row["Parameters"]))
        assert key in vi, f"{key} is in en.toml but not in vi.toml"
        assert params == placeholders(en[key]) == placeholders(vi[key]), f"{key}: parameters {sorted(params)}"
        assert row["English text"] == en[key], f"{key}: the doc says {row['English text']!r}, en.toml {en[key]!r}"


def test_logs_examples_carry_real_keys_and_their_rendering_is_shown() -> None:
    answers = examples("logs")
    assert {a["kind"] for a in answers} == {"lines", "playlog"}, "show a logs answer of each kind"
    text = doc()
    for answer in answers:
        for entry in answer["entries"]:
            if answer["kind"] == "playlog":
                record = {"dev": answer["dev"]} | {k: v for k, v in entry.items() if k != "ts"}  # a record minus dev
                assert "dev" not in entry and schema("playlog").is_valid(record), entry
                assert entry["ts"] == entry["ended_ts"], entry
                continue
            assert set(entry) == {"ts", "level", "key", "params"} and entry["level"] in LOG_LEVELS, entry
            for lang in i18n.LANGUAGES:
                template = strings(lang).get(entry["key"])
                assert template is not None, f"{entry['key']!r} is not in agent/strings/{lang}.toml"
                line = template.format(**entry["params"])  # strict: a missing parameter fails here
                assert line == i18n.render(lang, entry["key"], entry["params"]) and line in text, \
                    f"the doc does not show the {lang} rendering {line!r}"


def test_the_logs_answer_example_has_the_shape_the_unit_publishes() -> None:
    w = busy_unit()
    w.run_until(T0 + 30_000)
    for kind in ("lines", "playlog"):
        w.feed(MessageArrived(w.now, Topics().device_command("d1"),
                              command("logs", {"kind": kind}, f"l-{kind}", w.now)))
    w.feed(MessageArrived(w.now, Topics().log_request(Target("dev", "d1")), b'{"id": "r-1"}'))  # unsigned
    real = {(a["kind"], "request" in a): a for a in published(w, "logs")}
    assert ("lines", True) in real, "the unit did not answer the log request"
    assert any("request" in a for a in examples("logs")), "show the answer to a log request"
    for answer in examples("logs"):
        want = real[answer["kind"], "request" in answer]
        assert set(answer) == set(want), f"logs answer fields {sorted(answer)} != published {sorted(want)}"
        assert want["entries"], f"the unit sent no {answer['kind']} entries"
        assert {k for e in answer["entries"] for k in e} == {k for e in want["entries"] for k in e}


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


def test_the_key_scope_table_lists_every_role_and_the_gateway_commands() -> None:
    from agent.core import scopes

    rows = {re.findall(r"`([^`]+)`", row["`loa_scope`"])[0]: row["May sign"] for row in table("key-scopes")}
    assert set(rows) == set(scopes.ROLES)
    named = set(re.findall(r"`([^`]+)`", rows["gateway"].split("(never")[0]))
    assert named == set(scopes.GATEWAY_CMDS)
