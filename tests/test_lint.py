"""The code passes ruff, as configured in pyproject.toml: the formatter owns the layout."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from helpers import ROOT


def _ruff(*args: str) -> subprocess.CompletedProcess:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (the tests extra installs it)")
    return subprocess.run([ruff, *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_check_is_clean():
    proc = _ruff("check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_leaves_every_file_as_it_is():
    proc = _ruff("format", "--check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_file_opts_out_of_the_formatter():
    marker = "fmt" + ": skip"  # spelt in two parts, so that this line is not a match itself
    found = subprocess.run(["git", "grep", "-n", marker, "--", "*.py"], cwd=ROOT, capture_output=True, text=True)
    assert found.stdout == "", found.stdout
