"""`loa completion bash`, sourced into a real bash: Tab after `loa`, `loa send`, `loa keys` and an option prefix
gives the subcommands, the unit's commands and the options the parser has."""

from __future__ import annotations

import subprocess

from tests.tools.test_cli_console import loa


def complete(script: str, *words: str) -> list[str]:
    line = " ".join(f"'{w}'" for w in words)
    probe = (f'{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _loa; printf "%s\\n" "${{COMPREPLY[@]}}"')
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.split()


def test_bash_completion_follows_the_parser() -> None:
    made = loa("completion", "bash")
    assert made.returncode == 0, made.stderr
    script = made.stdout
    assert {"send", "status", "logs", "keys", "demo"} <= set(complete(script, "loa", ""))
    assert complete(script, "loa", "st") == ["staff", "status"]
    assert {"ping", "play", "snapshot"} <= set(complete(script, "loa", "send", ""))
    assert complete(script, "loa", "send", "snapshot", "--sa") == ["--save"]
    assert complete(script, "loa", "--lang", "vi", "keys", "ro") == ["rotate"]
    assert "--wait" in complete(script, "loa", "send", "ping", "--device", "x", "--")
