"""The inbound API's Sender: signs with the gateway's own scoped key (gateway.toml [signing] key, made by
`loa keys gateway`) and publishes at QoS 1 through the gateway's console link. Must not import the HTTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.core.topics import Target
from province.console import Console
from province.keys import load_signing
from tools.gateway.inbound_config import Signing


class ConsoleSender:
    def __init__(self, console: Console, signing: Signing) -> None:
        self.console, self.key = console, load_signing(Path(signing.key))
        self.lifetime_s, self.issuer = signing.lifetime_s, signing.issuer

    def send(self, target: Target, cmd: str, args: dict[str, Any], **sign: Any) -> str:
        """The command's jti; `sign` may override the lifetime (an emergency's reach) or give the jti."""
        return self.console.send(self.key, target, cmd, args,
                                 **{"lifetime_s": self.lifetime_s, "issuer": self.issuer, **sign})
