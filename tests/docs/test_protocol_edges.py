"""docs/protocol.md on the edges an outside client runs into: each unusual token gets the code the doc's table gives
for it, the acks of a cut bulletin are the doc's example, what `rejected` counts, the broker ACL and the server's
subscriptions match the code, and the MQTT 5 session the doc asks of a server names real MQTT 5 properties.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

import pytest
from joserfc import jws
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from agent.core.events import MessageArrived
from agent.core.topics import REPORTS, Topics
from province.broker_conf import acl
from tests.agent.core.device_helpers import KEY, T0, command, sound_device
from tests.agent.core.world import World
from tests.docs.test_protocol_doc import ANY_FENCE, doc, examples, table

TOPIC = Topics().device_command("d1")
NOW_S = T0 // 1000


def signed(**over: Any) -> bytes:
    """A ping for unit d1 with some claims changed (None: left out)."""
    body = {"iss": "province", "aud": "dev:d1", "iat": NOW_S, "exp": NOW_S + 60, "jti": "e-1", "cmd": "ping",
            "args": {}} | over
    body = {k: v for k, v in body.items() if v is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jws.serialize_compact({"alg": "EdDSA", "kid": "k1"}, json.dumps(body), KEY, algorithms=["EdDSA"]).encode()


def doc_rows(code: str) -> str:
    """Every row of the rejection table with this code, as one text."""
    return " ".join(row["The command is refused when…"] for row in table("rejection-codes") if row["Code"] == f"`{code}`")


@pytest.mark.parametrize("over, code, the_doc_says", [
    ({"jti": "j" * 129}, "bad_token", "longer than 128 characters"),
    ({"aud": ["dev:d1"]}, "wrong_audience", "an array never is"),
    ({"aud": 7}, "bad_token", "neither a string nor an array"),
    ({"args": None}, "bad_args", "`args` is missing"),
    ({"nbf": "soon"}, "bad_token", "`nbf` is present but not an integer"),
    ({"nbf": NOW_S + 600}, "not_yet_valid", "`nbf − skew_s > now`"),
])
def test_an_unusual_token_gets_the_code_the_doc_gives_for_it(over: dict[str, Any], code: str, the_doc_says: str) -> None:
    w = World(sound_device(), now=T0 + 1000)
    w.feed(MessageArrived(w.now, TOPIC, signed(**over)))
    acks = [body for kind, body in w.published if kind == "ack"]
    assert [(a["state"], a["code"]) for a in acks] == [("rejected", code)], acks
    assert the_doc_says in doc_rows(code), f"the doc's {code} row does not say {the_doc_says!r}: {doc_rows(code)}"


def test_a_present_nbf_is_accepted_as_the_doc_says() -> None:
    w = World(sound_device(), now=T0 + 1000)
    w.feed(MessageArrived(w.now, TOPIC, signed(nbf=NOW_S)))
    assert [body["state"] for kind, body in w.published if kind == "ack"] == ["accepted", "finished"]
    row = next(line for line in doc().splitlines() if line.startswith("| `nbf` |"))
    assert "not_yet_valid" in row and "Honoured" in row, row


def test_the_acks_of_a_cut_bulletin_are_the_docs_example() -> None:
    """The doc shows a normal bulletin cut by an emergency, re-queued and played again: the same states and codes as
    the core sends for it."""
    w = World(sound_device(), now=T0 + 1000)
    w.durations_ms = {"n1": 20_000}
    w.feed(MessageArrived(w.now, TOPIC, command("play", {"source": {"url": "http://x/a.mp3", "sha256": "a" * 64}},
                                               "n1", w.now)))
    w.run_until(T0 + 6000)
    emergency = {"source": {"tts": "Lũ quét"}, "priority": "emergency"}
    w.feed(MessageArrived(w.now, TOPIC, command("play", emergency, "e1", w.now)))
    w.run_until(T0 + 120_000)
    core = [(a["state"], a["code"]) for kind, a in w.published if kind == "ack" and a["jti"] == "n1"]
    shown = [(a["state"], a["code"]) for a in examples("ack") if a["jti"] == "b7e1c0d2a9f34e5b8c6d7e8f9a0b1c2d"
             and a["cmd"] == "play" and a["state"] != "stopped"]
    assert core == shown, (core, shown)


def test_rejected_counts_refusals_and_the_doc_says_so() -> None:
    w = World(sound_device(), now=T0 + 1000)
    w.feed(MessageArrived(w.now, TOPIC, command("play", {"source": {"tts": "Lũ"}, "zones": [9]}, "z1", w.now)))
    w.run_until(T0 + 3000)
    status = [body for kind, body in w.published if kind == "status"][-1]
    assert status["rejected"] == {"bad_args": 1}, status  # a refusal by the sound desk, not by verification
    row = next(row for row in table("status-fields") if row["Field"] == "`rejected`")
    assert "refusals of valid commands" in row["Meaning"], row


def test_the_docs_acl_is_what_loa_broker_writes() -> None:
    blocks = [body for language, body in ANY_FENCE.findall(doc()) if language == "text" and "user gl-0042" in body]
    assert len(blocks) == 1, blocks
    made = acl("loa/v1", ["console"], [("gl-0042", ["xa-ia-grai", "tinh-gia-lai"])], [("canbo-iagrai", "xa-ia-grai")])
    wanted = [line for line in made.splitlines() if line and not line.startswith("#")]
    assert [line for line in blocks[0].splitlines() if line] == wanted


def test_the_server_subscribes_to_every_report_topic() -> None:
    text = doc()
    at = text.index("A server subscribes to")
    paragraph = text[at:text.index("\n\n", at)]
    listed = set(re.findall(r"`loa/v1/dev/\+/(\w+)`", paragraph))
    assert listed == set(REPORTS), f"missing {sorted(set(REPORTS) - listed)}"


def test_the_mqtt5_server_session_the_doc_asks_for_names_real_properties() -> None:
    """MQTT 5 has no clean_session: a persistent server session needs Clean Start off and a Session Expiry Interval,
    and the doc's paho and MQTT.js spellings of it are the libraries' own."""
    text = doc()
    at = text.index("A server subscribes to")
    section = text[at:text.index("## 2. Commands")]
    assert "Session Expiry Interval" in section and "clean_start=False" in section
    seconds = re.search(r"properties\.SessionExpiryInterval = (\d+)", section)
    assert seconds and int(seconds.group(1)) > 0, section
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho leaves it unannotated
    props.SessionExpiryInterval = int(seconds.group(1))  # paho raises on a name that is not an MQTT 5 property
    assert f"sessionExpiryInterval: {seconds.group(1)}" in section
