"""harness.pyperformance: the subset's bookkeeping, the worker commands, and tagging a
worker's pyperf file; one slow test runs two benchmarks end to end with this interpreter.

Most tests point ``benchmark_dir`` at a fake tree, so they run without pyperformance
installed; the ones that read the installed package skip, saying so, when it is absent.
No timing is asserted.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pyperf
import pytest

from harness import pyperformance as pp
from workloads.host import PROFILES, BenchSpec, EnvRun, Outcome, RunOptions, Target

PYPERFORMANCE = importlib.util.find_spec("pyperformance") is not None
NO_PYPERFORMANCE = "pyperformance is not installed (%s)" % pp.INSTALL_HINT
needs_pyperformance = pytest.mark.skipif(not PYPERFORMANCE, reason=NO_PYPERFORMANCE)


@pytest.fixture
def fake_tree(tmp_path, monkeypatch) -> Path:
    """A benchmark tree with an empty run_benchmark.py for every SUBSET benchmark."""
    root = tmp_path / "benchmarks"
    for bench in pp.BENCHMARKS:
        bench.script(root).parent.mkdir(parents=True, exist_ok=True)
        bench.script(root).touch()
    monkeypatch.setattr(pp, "benchmark_dir", lambda: root)
    return root


def write_part(path: Path, *names: str, loops: int = 4) -> Path:
    """A pyperf file as one worker writes it: one run per benchmark, made with pyperf's API."""
    runs = [
        pyperf.Run(
            [0.01],
            warmups=[(loops, 0.011)],
            collect_metadata=False,
            metadata={"name": name, "loops": loops, "unit": "second", "mem_max_rss": 1 << 20},
        )
        for name in names
    ]
    pyperf.BenchmarkSuite([pyperf.Benchmark([run]) for run in runs]).dump(str(path))
    return path


# gilbench's keys as its runner writes them; True and None exercise to_pyperf.
TAGS = {
    "workload": "pyperformance.nbody",
    "mode": "serial",
    "workers": 1,
    "env": "bench-py312",
    "run_id": "20260101T000000Z-test00",
    "round": 3,
}
GILBENCH = dict(TAGS, name="pyperformance.nbody", gil_enabled=True, roles=None)


# -- the subset ------------------------------------------------------------------------


def test_subset_and_exclusions_do_not_overlap():
    assert len(set(pp.SUBSET)) == len(pp.SUBSET) and 12 <= len(pp.SUBSET) <= 20
    assert not set(pp.SUBSET) & set(pp.EXCLUDED)
    assert all(reason and "\n" not in reason for reason in pp.EXCLUDED.values())


def _manifest_names(root: Path) -> set[str]:
    """The benchmark names of pyperformance's MANIFEST (its ``[benchmarks]`` table)."""
    table = (root / "MANIFEST").read_text().split("[benchmarks]", 1)[1].split("\n[", 1)[0]
    rows = [line.split("\t")[0] for line in table.splitlines() if line.strip() and not line.startswith("#")]
    return set(rows) - {"name"}


def _extra_opts(root: Path, bench: pp.Benchmark) -> tuple[str, ...]:
    """pyperformance's ``extra_opts`` for ``bench``: its variant file's, else its folder's."""
    folder = root / bench.directory
    variant = folder / ("bm_%s.toml" % bench.name)
    text = (variant if variant.exists() else folder / "pyproject.toml").read_text()
    match = re.search(r"^extra_opts\s*=\s*(\[.*?\])", text, re.M | re.S)
    return tuple(ast.literal_eval(match.group(1))) if match else ()


@needs_pyperformance
def test_the_installed_pyperformance_has_what_the_subset_says():
    if version("pyperformance") != pp.PYPERFORMANCE_VERSION:
        pytest.skip(
            "pyperformance %s is installed; the subset describes %s"
            % (version("pyperformance"), pp.PYPERFORMANCE_VERSION)
        )
    root = pp.benchmark_dir()
    assert _manifest_names(root) == set(pp.SUBSET) | set(pp.EXCLUDED)
    for bench in pp.BENCHMARKS:
        assert pp.script(bench.name).is_file()
        assert bench.args == _extra_opts(root, bench), bench.name


def test_a_missing_pyperformance_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(pp.PyperformanceError, match="pip install pyperformance") as exc:
        pp.benchmark_dir()
    assert "\n" not in str(exc.value) and "not installed" in str(exc.value)


def test_unknown_and_excluded_benchmarks_are_named(fake_tree):
    with pytest.raises(pp.PyperformanceError, match="'no_such_bench'"):
        pp.script("no_such_bench")
    with pytest.raises(pp.PyperformanceError, match="'mdp' is not in gilbench's subset: too slow"):
        pp.script("mdp")
    assert pp.script("nbody") == fake_tree / "bm_nbody" / "run_benchmark.py"


def test_a_script_missing_from_the_tree_is_an_error(fake_tree):
    (fake_tree / "bm_nbody" / "run_benchmark.py").unlink()
    with pytest.raises(pp.PyperformanceError, match="'nbody': no script"):
        pp.script("nbody")


# -- commands --------------------------------------------------------------------------


def test_worker_command_puts_the_variant_first(fake_tree, tmp_path):
    part = tmp_path / "part.json"
    cmd = pp.worker_command("/py/bin/python", "pickle_pure_python", part, values=3, warmups=1, loops=16)
    script = str(fake_tree / "bm_pickle" / "run_benchmark.py")
    variant = ["/py/bin/python", script, "--pure-python", "pickle", "--worker", "--output", str(part)]
    assert cmd == [*variant, "--values", "3", "--warmups", "1", "--loops", "16"]


def test_calibrate_command_asks_pyperf_for_the_loops(fake_tree, tmp_path):
    cmd = pp.calibrate_command(Path("/py/bin/python"), "nbody", tmp_path / "cal.json", min_time=0.2)
    assert cmd[:3] == ["/py/bin/python", str(fake_tree / "bm_nbody" / "run_benchmark.py"), "--worker"]
    assert "--calibrate-loops" in cmd and "--loops" not in cmd
    assert cmd[cmd.index("--min-time") + 1] == "0.2"


def test_calibrated_loops_reads_the_calibration_run(tmp_path):
    run = pyperf.Run(
        [],
        warmups=[(1, 0.04), (2, 0.05), (4, 0.05)],
        collect_metadata=False,
        metadata={"name": "nbody", "loops": 4, "calibrate_loops": 4},
    )
    path = tmp_path / "cal.json"
    pyperf.BenchmarkSuite([pyperf.Benchmark([run])]).dump(str(path))
    assert pp.calibrated_loops(path) == 4


# -- tagging ---------------------------------------------------------------------------


def test_tag_results_renames_and_adds_gilbench_metadata(tmp_path):
    part = write_part(tmp_path / "part.json", "nbody")
    pp.tag_results(part, GILBENCH)
    bench = pyperf.BenchmarkSuite.load(str(part)).get_benchmarks()[0]
    assert bench.get_name() == "pyperformance.nbody"
    (run,) = bench.get_runs()
    meta = run.get_metadata()
    assert {k: meta[k] for k in TAGS} == TAGS
    assert meta["gil_enabled"] == "True" and "roles" not in meta  # as gilbench's own workloads store them
    assert run.values == (0.01,) and run.get_loops() == 4 and meta["mem_max_rss"] == 1 << 20
    stats = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(part)], capture_output=True, text=True)
    assert stats.returncode == 0 and "Loop iterations per value: 4" in stats.stdout, stats.stderr


def test_tag_results_keeps_pyperfs_loops(tmp_path):
    part = write_part(tmp_path / "part.json", "nbody", loops=4)
    before = part.read_bytes()
    with pytest.raises(pp.PyperformanceError, match="would change pyperf's loops"):
        pp.tag_results(part, dict(GILBENCH, loops=1))
    assert part.read_bytes() == before
    pp.tag_results(part, dict(GILBENCH, loops=4, unit="second"))  # the same values are no change


@pytest.mark.parametrize(
    ("names", "metadata", "message"),
    [
        (("nbody",), {"mode": "serial"}, "needs a benchmark name"),
        (("deepcopy", "deepcopy_memo"), GILBENCH, "2 benchmarks, expected one"),
    ],
)
def test_tag_results_refuses_what_it_cannot_tag(tmp_path, names, metadata, message):
    part = write_part(tmp_path / "part.json", *names)
    with pytest.raises(pp.PyperformanceError, match=message):
        pp.tag_results(part, metadata)


def test_tag_results_names_an_unreadable_file(tmp_path):
    part = tmp_path / "part.json"
    part.write_text("{not json")
    with pytest.raises(pp.PyperformanceError, match=r"part\.json: not a readable pyperf file"):
        pp.tag_results(part, GILBENCH)


# -- end to end ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["nbody", "pickle_pure_python"])
def test_a_subset_benchmark_runs_in_worker_mode(name, tmp_path):
    """Calibrate, measure one value, tag: the file is one pyperf benchmark with gilbench's name."""
    if not PYPERFORMANCE:
        pytest.skip(NO_PYPERFORMANCE)
    calibration = tmp_path / "cal.json"
    subprocess.run(pp.calibrate_command(sys.executable, name, calibration, min_time=0.01), check=True, timeout=300)
    loops = pp.calibrated_loops(calibration)
    part = tmp_path / "part.json"
    subprocess.run(
        pp.worker_command(sys.executable, name, part, values=1, warmups=1, loops=loops), check=True, timeout=300
    )
    pp.tag_results(part, dict(GILBENCH, name="pyperformance." + name, workload="pyperformance." + name))
    (bench,) = pyperf.BenchmarkSuite.load(str(part)).get_benchmarks()
    assert bench.get_name() == "pyperformance." + name and bench.get_nvalue() == 1
    assert bench.get_runs()[0].get_loops() == loops and bench.get_metadata()["mode"] == "serial"
    stats = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(part)], capture_output=True, text=True)
    assert stats.returncode == 0, stats.stderr


# -- in bench-all's rounds -------------------------------------------------------------


def test_choose_reads_subset_and_names(fake_tree):
    assert pp.choose("subset") == pp.SUBSET
    assert pp.choose("richards, nbody,richards") == ("richards", "nbody")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected 'subset' or benchmark names"),
        ("nope", "unknown pyperformance benchmark 'nope' .gilbench runs: nbody"),
        ("nbody,2to3", "'2to3' is not in gilbench's subset: times a child process.*gilbench runs: nbody"),
    ],
)
def test_choose_names_what_is_wrong_and_the_valid_ones(fake_tree, text, message):
    with pytest.raises(pp.PyperformanceError, match=message) as exc:
        pp.choose(text)
    assert "\n" not in str(exc.value)


def test_without_pyperformance_bench_all_says_how_to_get_it(monkeypatch, capsys):
    """One line, exit status 2, naming the install command: no traceback."""
    from harness import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "pyperformance" else real(name))
    assert cli.main(["bench-all", "--pyperformance", "--profile", "smoke", "--workload", "countdown"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert "pyperformance is not installed" in err and pp.INSTALL_HINT in err


def test_the_measured_command_runs_the_worker_under_the_peak_wrapper(fake_tree, tmp_path):
    spec = dataclasses.replace(_spec("nbody"), size=8)
    run = _FakeRun(tmp_path)
    part = str(tmp_path / "worker.json")
    cmd = pp.External().command(run, spec, part, 3, 2, 1)
    assert cmd[:4] == ["/py/bin/python", "-c", pp.PEAK_WRAPPER, part + pp.PEAK_RSS_SUFFIX]
    assert cmd[4:] == pp.worker_command("/py/bin/python", "nbody", Path(part), values=2, warmups=1, loops=8)[1:]
    assert pp.External().handles(spec) and not pp.External().handles(dataclasses.replace(spec, module="workloads.cpu"))


def test_the_peak_wrapper_runs_the_script_as_main_and_records_vmhwm(tmp_path):
    script = tmp_path / "bench" / "run_benchmark.py"
    script.parent.mkdir()
    (script.parent / "helper.py").write_text("VALUE = 7\n")  # a sibling module, as some benchmarks import
    script.write_text(
        "import sys, helper\n"
        "assert __name__ == '__main__'\n"
        "print(sys.argv[0].endswith('run_benchmark.py'), sys.argv[1:], helper.VALUE)\n"
        "big = bytearray(64 << 20)\n"
    )
    out = tmp_path / "peak"
    proc = subprocess.run(
        [sys.executable, "-c", pp.PEAK_WRAPPER, str(out), str(script), "--worker", "x"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "['--worker',", "'x']", "7"]
    if Path("/proc/self/status").exists():
        assert int(out.read_text()) > 64 << 20  # the bytearray, in this process's own peak
    else:
        assert not out.exists()


def test_a_benchmark_that_cannot_run_is_planned_as_unavailable(fake_tree, tmp_path):
    (fake_tree / "bm_nbody" / "run_benchmark.py").write_text("raise ImportError('no module named _nbody_helper')\n")
    target = Target("bench-x", sys.executable, {"PATH": "/usr/bin:/bin"}, str(tmp_path))
    spec = pp.calibrate(target, "nbody", 0.01)
    assert spec.name == "pyperformance.nbody" and spec.block == spec.name and spec.mode == "serial"
    assert spec.unavailable == "pyperformance nbody does not run here: ImportError: no module named _nbody_helper"


def test_extend_plans_once_and_records_unavailable(tmp_path):
    run = EnvRun(_options(tmp_path), Target("bench-x", sys.executable, {}, str(tmp_path)))
    run.create([], {"implementation": "cpython"}, jit=False)
    ok, missing = _spec("nbody"), dataclasses.replace(_spec("richards"), unavailable="needs X")
    run.extend([ok, missing])
    run.extend([dataclasses.replace(ok, size=99)])  # a resumed run keeps its calibration
    run.load()
    assert [s.name for s in run.specs] == ["pyperformance.nbody", "pyperformance.richards"]
    assert run.specs[0].size == ok.size
    assert run.status["planned"] == [s.name for s in run.specs]
    assert run.entry(missing).status.value == "unavailable" and run.entry(missing).reason == "needs X"
    assert [s.name for s in run.open_specs()] == ["pyperformance.nbody"]


@pytest.mark.slow
def test_an_env_measures_a_pyperformance_benchmark_in_its_rounds(tmp_path):
    """attach (calibrate, plan), then one round through EnvRun.run_block: the env's pyperf
    file holds the benchmark with gilbench's metadata and the process's own peak RSS."""
    if not PYPERFORMANCE:
        pytest.skip(NO_PYPERFORMANCE)
    from workloads import _meta

    run = EnvRun(_options(tmp_path), Target("bench-x", sys.executable, {}, str(tmp_path)))
    run.create([], _meta.interpreter_facts(), jit=False)
    pp.attach(run, ("nbody",), log=lambda line: None)
    (spec,) = run.specs
    assert spec.size >= 1 and run.external is not None
    outcomes = run.run_block([spec], 0)
    assert outcomes == {spec.name: Outcome.OK}, run.entry(spec).reason
    (bench,) = pyperf.BenchmarkSuite.load(run.suite_path).get_benchmarks()
    meta = bench.get_runs()[0].get_metadata()
    assert bench.get_name() == "pyperformance.nbody" and bench.get_runs()[0].get_loops() == spec.size
    assert meta["env"] == "bench-x" and meta["round"] == 0 and meta["mode"] == "serial" and meta["work_size"] == 1
    assert meta["tags"] == ["pyperformance"] and meta["run_id"] == RUN_ID
    assert meta["peak_rss"] > 1 << 20 if Path("/proc/self/status").exists() else "peak_rss" not in meta


RUN_ID = "20260101T000000Z-test00"


def _options(results: Path) -> RunOptions:
    return RunOptions(PROFILES["smoke"], RUN_ID, str(results), seed=0)


def _spec(name: str) -> BenchSpec:
    return BenchSpec(
        name="pyperformance." + name,
        workload="pyperformance." + name,
        module="pyperformance",
        mode="serial",
        workers=1,
        size=4,
        tags=("pyperformance",),
    )


class _FakeRun:
    def __init__(self, tmp_path: Path) -> None:
        self.target = Target("bench-x", "/py/bin/python", {}, str(tmp_path))
