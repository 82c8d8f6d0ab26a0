"""Every command the README and the docs pages show parses: a reader who copies one gets a run,
not a usage error.

Commands are the ``$ `` lines of the ``console`` blocks (continuation lines joined).
Each is checked without running it:

- ``pip install REQ``: the requirement parses;
- ``tox -e ENV [-- ARGS]``: ENV is an env of ``tox.ini``, and ARGS parse with the command
  that env runs (``python -m harness bench-all``, ``python -m workloads``, pytest's file
  arguments exist);
- ``[.tox/ENV/bin/]python -m MODULE ARGS``: the module's own ``main`` parses ARGS; parsing
  stops at ``parse_args``, so nothing is measured;
- ``taskset -c CPUS`` before any of them: the CPU list, then the command.
"""

from __future__ import annotations

import argparse
import configparser
import importlib
import re
import shlex
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.helpers import ROOT

PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
# `tox -e ENV` runs this module with these leading arguments
TOX_COMMANDS = {
    "bench-all": ("harness", ["bench-all"]),
    "report": ("harness", ["report"]),
    "interpreters": ("harness", ["interpreters"]),
    "provision": ("harness", ["provision"]),
}
ENTRY_POINTS = {"harness": "harness.cli", "workloads": "workloads._cli"}  # `python -m` packages
PLACEHOLDERS = {"<run-id>": "RUN", "<RUN_ID>": "RUN", "RUN_ID": "RUN"}


def console_commands(page: str) -> list[str]:
    """The ``$ `` lines of a page's console blocks, continuation lines joined, comments cut."""
    text = (ROOT / page).read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            if line.startswith("$ "):
                commands.append(line[2:].split("  #")[0].strip())
    return commands


def tox_envs() -> set[str]:
    """Every env name tox.ini defines, generative sections expanded."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    names = set()
    for section in parser.sections():
        if not section.startswith("testenv:"):
            continue
        name = section[len("testenv:") :]
        match = re.fullmatch(r"(.*)\{(.*)\}", name)
        names.update(match.group(1) + f for f in match.group(2).split(",")) if match else names.add(name)
    return names


class _Parsed(Exception):
    """Raised in place of running: the arguments parsed."""


def assert_parses(module: str, args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Run ``module.main`` up to its ``parse_args`` call with ``args``; a usage error fails."""
    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, argv=None, namespace=None):
        original(self, argv, namespace)
        raise _Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    monkeypatch.setattr(sys, "argv", [module, *args])
    main = importlib.import_module(ENTRY_POINTS.get(module, module)).main
    with pytest.raises(_Parsed):
        main(args) if main.__code__.co_argcount else main()


def cases() -> list[tuple[str, str]]:
    return [(page, command) for page in PAGES for command in console_commands(page)]


def test_the_pages_show_commands():
    assert len(console_commands("README.md")) >= 3 and len(console_commands("docs/quickstart.md")) >= 10


@pytest.mark.parametrize(("page", "command"), cases())
def test_command_parses(page, command, monkeypatch):
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value)
    words = shlex.split(command)
    if words[:2] == ["taskset", "-c"]:  # confined to some CPUs: the command after the CPU list
        assert re.fullmatch(r"[0-9,-]+", words[2]), command
        words = words[3:]
    if words[:4] == ["python3", "-m", "pip", "install"]:
        Requirement(words[4])
        return
    if words[0] == "tox":
        assert words[1] == "-e" and words[2] in tox_envs(), command
        rest = words[4:] if words[3:4] == ["--"] else []
        if words[2] == "tests":
            for arg in (a for a in rest if not a.startswith("-") and "/" in a):
                assert (ROOT / arg).exists(), arg
        elif words[2] in TOX_COMMANDS:
            module, lead = TOX_COMMANDS[words[2]]
            assert_parses(module, lead + rest, monkeypatch)
        elif words[2].startswith("bench-"):
            assert_parses("workloads", rest, monkeypatch)
        return
    python = words.index("-m") if "-m" in words else None
    assert python is not None and Path(words[0]).name.startswith("python"), command
    module, args = words[python + 1], words[python + 2 :]
    if module == "pyperf":
        return  # pyperf's own CLI
    assert_parses(module, args, monkeypatch)
