"""bench-all's options: resolved once from the command line, which stays as parsed, and
handed down; nothing travels through the host's own environment."""

from __future__ import annotations

import ast
import copy
import json
import os
from pathlib import Path

from harness import cli
from workloads.host import BUDGETED_MOST_ROUNDS, USER_WORKLOADS_ENV, seed_of

ROOT = Path(__file__).resolve().parents[2]


def _writes(tree: ast.AST) -> list[str]:
    """Writes to ``os.environ`` (item assignment, deletion, a mutating method, putenv) and
    assignments to an attribute of ``args`` (the parsed command line)."""
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            text = ast.unparse(target)
            if text.startswith(("os.environ[", "args.")):
                found.append("line %d: %s" % (node.lineno, text))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            call = ast.unparse(node.func)
            mutators = ("update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__")
            if call in ("os.putenv", "os.unsetenv") or call in {"os.environ." + m for m in mutators}:
                found.append("line %d: %s()" % (node.lineno, call))
    return found


def test_the_command_line_writes_neither_the_environment_nor_the_parsed_options():
    assert _writes(ast.parse((ROOT / "harness" / "cli.py").read_text())) == []
    assert _writes(ast.parse("os.environ['X'] = '1'\nargs.workloads = []\nos.environ.update(a=1)")) == [
        "line 1: os.environ['X']",
        "line 2: args.workloads",
        "line 3: os.environ.update()",
    ]


def test_bench_all_options_are_resolved_once_and_leave_args_and_environ_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("mine.py").write_text("")
    argv = ["bench-all", "--profile", "fast", "--max-rounds", "7", "--workloads", "mine.py", "--workers", "1,2"]
    args = cli.build_parser().parse_args([*argv, "--results-dir", str(tmp_path / "results"), "--env", "bench-py39"])
    before, environ = copy.deepcopy(vars(args)), dict(os.environ)
    opts = cli.bench_all_options(args)
    assert vars(args) == before and dict(os.environ) == environ
    assert opts.run.profile.name == "fast" and opts.run.profile.max_rounds == 7
    assert opts.run.user_workloads == (str(tmp_path / "mine.py"),) and opts.run.workers == (1, 2)
    assert opts.run.worker_env() == {USER_WORKLOADS_ENV: str(tmp_path / "mine.py")}
    assert opts.run.seed == seed_of(opts.run.run_id) and opts.envs == ["bench-py39"]


def test_under_a_budget_the_budget_bounds_the_rounds_unless_max_rounds_is_given(tmp_path):
    def profile(*argv):
        args = cli.build_parser().parse_args(
            ["bench-all", *argv, "--results-dir", str(tmp_path), "--env", "bench-py39"]
        )
        return cli.bench_all_options(args).run.profile

    assert profile().max_rounds == 16
    assert profile("--budget", "30m").max_rounds == BUDGETED_MOST_ROUNDS
    assert profile("--budget", "30m", "--max-rounds", "7").max_rounds == 7


def test_a_resumed_run_keeps_the_seed_and_layout_it_started_with(tmp_path):
    meta = tmp_path / "results" / "20261207T000000Z-abc123" / "meta"
    meta.mkdir(parents=True)
    (meta / "run.json").write_text(json.dumps({"seed": 42, "layout": "processes"}))
    args = cli.build_parser().parse_args(
        ["bench-all", "--resume", "20261207T000000Z-abc123", "--results-dir", str(tmp_path / "results"), "--seed", "3"]
    )
    opts = cli.bench_all_options(args)
    assert (opts.run.run_id, opts.run.seed, opts.run.layout, opts.run.resume) == (
        "20261207T000000Z-abc123",
        42,
        "processes",
        True,
    )
