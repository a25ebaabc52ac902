"""`loa ... -h` in the reader's language: each option's and subcommand's help, the description and argparse's own
words (usage, options, show this help message) come from tools/strings, keyed by where they stand:
`h_<subcommand path>_<option dest>` (`h_send_wait`), `h_<subcommand path>` for a subcommand's line in its parent's
list (`h_send`), `h_<path>_desc` for a description (`h__desc` for `loa`), `h_<path>_group<N>` for its N-th own group of options. A key not in the strings files keeps the
text written in the code. Must not import the agent's runtime or adapters.
"""

from __future__ import annotations

import argparse

from agent import i18n
from tools.user_input import STRINGS


def path_of(prog: str) -> str:
    """"loa keys init" -> "keys_init"; "loa" -> ""."""
    return "_".join(prog.split()[1:]).replace("-", "_")


def text(lang: str, key: str, default: str | None) -> str | None:
    return i18n.strings(lang, STRINGS).get(key, default)


def localise(parser: argparse.ArgumentParser, lang: str) -> None:
    """Rewrites the parser's help texts in `lang` (once per run: the parser is built for this run only)."""
    where = path_of(parser.prog)
    parser.description = text(lang, f"h_{where}_desc", parser.description)
    parser._positionals.title = text(lang, "h_positionals", parser._positionals.title)
    parser._optionals.title = text(lang, "h_options", parser._optionals.title)
    for i, group in enumerate(parser._action_groups[2:], 1):  # a subcommand's own groups, in order: h_sim_group1
        group.title = text(lang, f"h_{where}_group{i}", group.title)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                sub = "_".join(p for p in (where, choice.dest.replace("-", "_")) if p)
                choice.help = text(lang, f"h_{sub}", choice.help)
        elif action.help is not argparse.SUPPRESS:
            action.help = text(lang, f"h_{where}_{action.dest}", text(lang, f"h_any_{action.dest}", action.help))


class Formatter(argparse.HelpFormatter):
    """argparse's "usage: " prefix in the reader's language."""

    language = "en"

    def add_usage(self, usage: str | None, actions: object, groups: object, prefix: str | None = None) -> None:
        if prefix is None:  # "" is argparse computing a subcommand's prog, which must stay bare
            prefix = text(self.language, "h_usage", None)
        super().add_usage(usage, actions, groups, prefix)  # type: ignore[arg-type]


def formatter(lang: str) -> type[Formatter]:
    return type("Formatter", (Formatter,), {"language": lang})
