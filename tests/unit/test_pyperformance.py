"""harness.pyperformance: the subset's bookkeeping, the worker commands, and tagging a
worker's pyperf file; one slow test runs two benchmarks end to end with this interpreter.

Most tests point ``benchmark_dir`` at a fake tree, so they run without pyperformance
installed; the ones that read the installed package skip, saying so, when it is absent.
No timing is asserted.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pyperf
import pytest

from harness import pyperformance as pp

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
