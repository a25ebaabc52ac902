"""The HTTTN's side: log in, keep a bearer token per login, post a body, and say whether it was taken, refused or
must be retried. urllib3 (a pooled, thread-safe client) carries the calls. Must not import the outbox."""

from __future__ import annotations

import enum
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from agent.errors import LoaError
from tools.gateway.mapping import lookup
from tools.gateway.profile import Profile
from tools.gateway.record import Recorder

try:
    import urllib3
except ImportError:  # pragma: no cover - the [gateway] extra brings it
    urllib3 = None  # type: ignore[assignment]


class GatewayExtraMissing(LoaError, ImportError):
    code = "gateway_extra_missing"


class LoginFailed(LoaError, PermissionError):
    code = "htttn_login_failed"


class NoCredentials(LoginFailed):
    """A cluster that must log in itself has no credentials in the clusters file: nothing to retry until staff add
    them."""

    code = "htttn_no_credentials"


class Outcome(enum.Enum):
    TAKEN = "taken"
    REFUSED = "refused"  # the body itself was refused: re-sending it would not help
    RETRY = "retry"  # down, slow, busy or not logged in: try again later


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    reason: str = ""


class North:
    """One HTTTN: credentials per login ("" is the gateway's own; a unit's id where clusters log in themselves)."""

    def __init__(self, profile: Profile, base_url: str, credentials: dict[str, tuple[str, str]], concurrency: int,
                 recorder: Recorder | None = None) -> None:
        if urllib3 is None:
            raise GatewayExtraMissing("the gateway needs urllib3: pip install 'loa[gateway]'")
        self.profile = profile
        self.base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._recorder = recorder
        self._http = urllib3.PoolManager(maxsize=concurrency, block=True, retries=False,
                                         timeout=urllib3.Timeout(total=profile.http.timeout_s))
        self._tokens: dict[str, tuple[str, float]] = {}
        self._login_lock = threading.Lock()

    def post(self, path: str, body: dict[str, Any], login: str) -> Result:
        """One call with a fresh token; a 401 logs in again and tries once more at once."""
        for _ in range(2):
            token = self.token(login)
            status, reply = self._call(path, body, {self.profile.login.header: f"{self.profile.login.scheme} {token}"})
            if status != 401:
                return self._judge(status, reply)
            self._tokens.pop(login, None)
        return Result(Outcome.RETRY, "401 after a fresh login")

    def token(self, login: str) -> str:
        with self._login_lock:
            token, until = self._tokens.get(login, ("", 0.0))
            if not token or time.monotonic() >= until:
                token = self._login(login)
                self._tokens[login] = (token, time.monotonic() + self.profile.login.token_lifetime_s * 0.9)
            return token

    def _login(self, login: str) -> str:
        if login not in self._credentials:
            raise NoCredentials(f"no HTTTN credentials for {login or 'the gateway'}")
        user, password = self._credentials[login]
        p = self.profile.login
        status, reply = self._call(self.profile.http.login_path, {p.username_field: user, p.password_field: password},
                                   {})
        token = lookup(reply, p.token_field) if self._judge(status, reply).outcome is Outcome.TAKEN else None
        if not isinstance(token, str) or not token:
            raise LoginFailed(f"the HTTTN refused the login of {user!r}: {status} {self._reason(reply)}")
        return token

    def _call(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int | None, Any]:
        """(HTTP status, JSON reply); (None, reason) when the HTTTN could not be reached."""
        url = self.base_url + path
        headers = {"Content-Type": "application/json; charset=utf-8", **headers}
        try:
            r = self._http.request("POST", url, body=json.dumps(body, ensure_ascii=False).encode(), headers=headers)
            status, reply = r.status, _json(r.data)
        except urllib3.exceptions.HTTPError as exc:
            status, reply = None, f"{type(exc).__name__}: {exc}"
        if self._recorder:
            self._recorder.exchange("POST", url, headers, body, status, reply)
        return status, reply

    def _judge(self, status: int | None, reply: Any) -> Result:
        if status is None or status >= 500 or status in (408, 429):
            return Result(Outcome.RETRY, f"{status} {self._reason(reply)}")
        said = lookup(reply, self.profile.http.status_field) if isinstance(reply, dict) else None
        if status < 300 and said in (None, self.profile.http.ok_value):
            return Result(Outcome.TAKEN)
        return Result(Outcome.REFUSED, f"{status} {self._reason(reply)}")

    def _reason(self, reply: Any) -> str:
        return str(reply.get(self.profile.http.reason_field, "")) if isinstance(reply, dict) else str(reply)[:200]

    def close(self) -> None:
        self._http.clear()


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode(errors="replace")[:200]
