"""Every command's help: an example that its own parser accepts, choices for closed sets, and
plain text (no rich markup eating "[auto]")."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
import typer

from leadscore.cli.main import _register, app, main


def _is_group(command: Any) -> bool:
    return hasattr(command, "commands")  # click's Group (typer may vendor its own click)


def _commands() -> dict[str, Any]:
    _register()
    root: Any = typer.main.get_command(app)
    found: dict[str, Any] = {}
    for name, command in root.commands.items():
        if _is_group(command):
            found[name] = command  # a group that runs by itself (collector)
            found |= {f"{name} {sub}": c for sub, c in command.commands.items()}
        else:
            found[name] = command
    return found


COMMANDS = _commands()


def _examples(epilog: str) -> list[list[str]]:
    """The example invocations, continuation lines joined, without the leading ``leadscore``."""
    text = epilog.split("Example:", 1)[1].replace("\\\n", " ")
    return [shlex.split(line)[1:] for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("name", sorted(n for n, c in COMMANDS.items() if not _is_group(c) or c.invoke_without_command))
def test_each_command_has_an_example_its_parser_accepts(name: str) -> None:
    command = COMMANDS[name]
    assert command.epilog and "Example:" in command.epilog, f"leadscore {name} --help has no example"
    words = name.split()
    for argv in _examples(command.epilog):
        assert argv[: len(words)] == words, f"the example of {name} runs another command: {argv}"
        args = argv[len(words):]
        command.make_context(name, list(args))  # raises a usage error on an unknown option or a bad choice


def test_help_is_plain_text_and_closed_sets_are_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "[auto]" in out and "<auto|cpu|cuda>" in out
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "<pc|health|commercial|generic>" in out and "<csv|parquet>" in out
