"""The unit talks to paho through its public API only: a scan of the syntax tree of every module under agent/.

Rules (a paho name is any name bound by importing a paho module or something from one):
- no class derives from a paho name (no overriding paho's private methods);
- no private name is imported from paho, and no `._x` attribute is reached through a paho name (`mqtt._State`);
- in a module that imports paho, no `._x` attribute on anything but `self`/`cls` (the module's own objects), and
  no getattr/setattr/hasattr/delattr with a literal `_x` name: paho's client is only ever reached through a
  variable or an attribute, so a private member of it would show up as `client._sock` or `self.client._sock`;
- only the MQTT adapter imports paho.
Dunder names (`__version__`) are public. The simulator's fast client (sim/fastpaho.py) is outside agent/ on purpose.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

AGENT = Path(__file__).resolve().parents[4] / "agent"
PAHO_ADAPTER = AGENT / "adapters" / "mqtt" / "mqtt_paho.py"
OWN = {"self", "cls"}


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def paho_names(tree: ast.Module) -> tuple[set[str], list[str]]:
    names, problems = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "paho":
                    names.add(alias.asname or "paho")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "paho":
            for alias in node.names:
                names.add(alias.asname or alias.name)
                if private(alias.name):
                    problems.append(f"line {node.lineno}: imports paho's private {alias.name}")
    return names, problems


def violations(source: str) -> list[str]:
    tree = ast.parse(source)
    paho, problems = paho_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            problems += [f"line {node.lineno}: class {node.name} derives from paho's {ast.unparse(base)}"
                         for base in node.bases if root_name(base) in paho]
        elif isinstance(node, ast.Attribute) and private(node.attr):
            root = root_name(node.value)
            if root in paho or (paho and not (isinstance(node.value, ast.Name) and node.value.id in OWN)):
                problems.append(f"line {node.lineno}: {ast.unparse(node)} reaches a private member")
        elif (paho and isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in {"getattr", "setattr", "hasattr", "delattr"} and len(node.args) > 1
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
              and private(node.args[1].value)):
            problems.append(f"line {node.lineno}: {ast.unparse(node)} reaches a private member")
    return sorted(problems, key=lambda p: int(p.split(":")[0].split()[1]))


@pytest.mark.parametrize("path", sorted(AGENT.rglob("*.py")), ids=lambda p: str(p.relative_to(AGENT.parent)))
def test_no_module_in_agent_touches_a_private_member_of_paho(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8")) == []


def test_only_the_mqtt_adapter_imports_paho() -> None:
    importers = {p for p in AGENT.rglob("*.py") if paho_names(ast.parse(p.read_text(encoding="utf-8")))[0]}
    assert importers == {PAHO_ADAPTER}


# The patterns the unit's adapter used before it moved to the public API (and the simulator's client still uses).
BEFORE = '''
import paho.mqtt.client as mqtt
from paho.mqtt.client import Client as PahoClient, _ConnectionState

class _Client(mqtt.Client):
    def _handle_pubackcomp(self, cmd):
        packet = self._in_packet["packet"]
        return super()._handle_pubackcomp(cmd)

class Other(PahoClient):
    pass

class Link:
    def test(self):
        self.client._sock = None
        state = mqtt._ConnectionState.MQTT_CS_CONNECTED
        getattr(self.client, "_out_messages")
        return self._own_field
'''


def test_the_scan_catches_subclasses_and_private_members() -> None:
    found = violations(BEFORE)
    assert sorted(int(line.split(":")[0].split()[1]) for line in found) == [3, 5, 8, 10, 15, 16, 17], found
    assert violations("import paho.mqtt\nVERSION = paho.mqtt.__version__\n") == []
