"""An idle unit stays light (issue 16: RSS <= 45 MiB): the agent as `loa agent` loads it, having verified a signed
command and checked its args against a schema (what a time beacon does every 5 minutes), has not imported the
libraries it no longer needs: jsonschema (with referencing, rpds, attrs) and joserfc's key registry (with
cryptography's x509, RSA and EC code). A cheap guard instead of a timed RSS measurement (tools.bench.idle).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

from joserfc import jws
from joserfc.jwk import OKPKey

REPO = Path(__file__).resolve().parents[3]
HEAVY = ("jsonschema", "referencing", "rpds", "attr", "attrs", "joserfc", "cryptography.x509",
         "cryptography.hazmat.primitives.asymmetric.rsa", "cryptography.hazmat.primitives.asymmetric.ec")

SCRIPT = """
import json, sys
from agent.core.verify import TrustError, load_trust  # noqa: F401
import tools.cli
from agent import app
from agent.adapters.system import journal
from agent.config import unit
from agent.core.schemas import args_problem
from agent.core.topics import Target
from agent.core.verify import Command, Policy, verify

trust = load_trust(json.loads(sys.argv[1]))
policy = Policy(device_id="d1", groups=frozenset({"province"}), issuers=frozenset({"console"}))
result = verify(sys.argv[2].encode(), target=Target("grp", "province"), retained=False, now_s=int(sys.argv[3]),
                clock_synced=True, seen={}, keys=trust, policy=policy)
assert isinstance(result, Command), result
assert args_problem(result.cmd, result.args) is None
heavy = json.loads(sys.argv[4])
print(json.dumps(sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))))
"""


def beacon(key: OKPKey, now_s: int) -> str:
    claims = {"iss": "console", "aud": "grp:province", "iat": now_s, "exp": now_s + 120, "jti": "b1",
              "cmd": "time", "args": {"t_ms": now_s * 1000}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc prefers the name "Ed25519"; "EdDSA" is what units are sent
        return jws.serialize_compact({"alg": "EdDSA", "kid": key.kid}, json.dumps(claims), key, algorithms=["EdDSA"])


def test_a_unit_that_verified_a_beacon_has_not_loaded_the_heavy_libraries() -> None:
    key = OKPKey.generate_key("Ed25519", parameters={"kid": "k1"})
    now_s = int(time.time())
    trust = json.dumps({"keys": [key.as_dict(private=False)]})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", SCRIPT, trust, beacon(key, now_s), str(now_s), json.dumps(HEAVY)],
                         check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [], "an idle unit imported heavy libraries"
