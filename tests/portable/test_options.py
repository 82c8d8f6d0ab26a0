"""A run's options: resolved once, carried as one record, and the one builder of an env's
driver command line."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from workloads import _cli
from workloads._registry import PROFILES, USER_WORKLOADS_ENV
from workloads.host import RunOptions, UserError, driver_args, driver_command, env_files, resolve_options


def _options(**changes) -> RunOptions:
    profile = dataclasses.replace(PROFILES["default"], max_rounds=24)  # as bench-all's --max-rounds leaves it
    base = RunOptions(
        profile,
        "20261207T000000Z-abc123",
        "/results",
        seed=7,
        layout="processes",
        workloads=("countdown", "fib"),
        user_workloads=("/home/me/my_bench.py", "my_module"),
        workers=(1, 2, 4),
        timeout=120.0,
        resume=True,
    )
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(
    "options",
    [_options(), _options(workers=None, timeout=None, user_workloads=(), resume=False, profile=PROFILES["smoke"])],
    ids=["everything", "defaults"],
)
def test_the_options_round_trip_through_json(options):
    text = json.dumps(options.to_json())
    again = RunOptions.from_json(json.loads(text))
    assert again == options
    assert again.profile == options.profile and type(again.profile.blocks) is type(options.profile.blocks)


def test_the_options_say_where_an_envs_files_are_and_what_its_processes_get():
    options = _options()
    files = options.files("bench-py313t")
    assert files == env_files(os.path.join("/results", options.run_id), "bench-py313t")
    assert files.suite == os.path.join("/results", options.run_id, "bench-py313t.json")
    assert files.status == os.path.join("/results", options.run_id, "meta", "bench-py313t.status.json")
    assert files.timeline == os.path.join("/results", options.run_id, "meta", "bench-py313t.timeline.json")
    assert options.worker_env() == {USER_WORKLOADS_ENV: os.pathsep.join(options.user_workloads)}
    assert _options(user_workloads=()).worker_env() == {}


def test_the_driver_reads_back_exactly_what_the_builder_wrote():
    options = _options()
    args = _cli.build_parser().parse_args(driver_args(options, "bench-py39", timeline=False))
    assert _cli._options_of(args) == options
    assert (args.env, args.prepare, args.timeline, args.list_json) == ("bench-py39", True, False, False)
    listing = _cli.build_parser().parse_args(driver_args(options, list_json=True))
    assert (listing.env, listing.prepare, listing.list_json) == (None, False, True)
    assert driver_command("/py/bin/python", options, "bench-py39")[:3] == ["/py/bin/python", "-m", "workloads"]
    assert driver_command("/py/bin/python", options, "bench-py39")[3:] == driver_args(options, "bench-py39")


def test_options_beside_the_record_are_refused():
    args = _cli.build_parser().parse_args([*driver_args(_options()), "--profile", "smoke", "--seed", "3"])
    with pytest.raises(UserError, match="--options holds the run's options; --profile, --seed"):
        _cli._options_of(args)
    args = _cli.build_parser().parse_args(["--options", "{}", "--prepare"])
    with pytest.raises(UserError, match="--options: not a run's options"):
        _cli._options_of(args)


def test_a_command_line_is_resolved_once(tmp_path):
    mine = tmp_path / "mine.py"
    mine.write_text("")
    args = _cli.build_parser().parse_args(
        ["--profile", "fast", "--workload", "countdown,fib", "--workers", "1,2", "--workloads", str(mine)]
    )
    options = resolve_options(args, run_id="r1", results_dir=str(tmp_path))
    assert options.profile is PROFILES["fast"]
    assert (options.workloads, options.workers, options.user_workloads) == (("countdown", "fib"), (1, 2), (str(mine),))
    assert options.seed == _cli.seed_of("r1") and options.layout == "blocks" and not options.resume
    kept = resolve_options(args, run_id="r1", results_dir=str(tmp_path), seed=11, layout="processes")
    assert (kept.seed, kept.layout) == (11, "processes")  # a resumed run's own


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--workers", "1,x"], "--workers: expected comma-separated integers"),
        (["--workers", "0"], "--workers: counts must be >= 1"),
        (["--workloads", os.path.join("nowhere", "mine.py")], "--workloads nowhere"),
        (["--profile", "slow"], "unknown profile 'slow'"),
    ],
)
def test_a_bad_option_is_named(argv, message):
    args = _cli.build_parser().parse_args(argv)
    with pytest.raises(UserError, match=message.replace("+", r"\+")):
        resolve_options(args, run_id="r1", results_dir="results")
