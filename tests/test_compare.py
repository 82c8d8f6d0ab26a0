"""harness compare: two runs (folders) or two envs (pyperf files), with intervals."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers import assert_one_line_error, run_module

from harness import publish

ROOT = Path(__file__).resolve().parent.parent
README_RUN = "20261208T013236Z-ff00470e"  # the published run the README shows, with the 3.14 pair


def test_a_run_against_a_copy_of_itself_changes_nothing(smoke_run, tmp_path):
    copy = tmp_path / smoke_run.name
    shutil.copytree(smoke_run, copy)
    proc = run_module("harness", "compare", str(smoke_run), str(copy))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "== bench-host"
    assert "countdown[threads,w=2]" in proc.stdout
    rows = [line for line in proc.stdout.splitlines() if "[" in line]
    assert rows and all(line.endswith("not significant") for line in rows)
    assert proc.stdout.rstrip().endswith("0 of %d benchmarks changed significantly" % len(rows))
    markdown = run_module("harness", "compare", str(smoke_run), str(copy), "--format", "md")
    assert markdown.stdout.startswith("| env | benchmark | A | B | B vs A | 95% CI | ± | verdict | provenance |")


def test_two_envs_of_the_committed_run_compare_by_benchmark_name():
    raw = ROOT / "docs" / "results" / README_RUN / publish.RAW
    proc = run_module("harness", "compare", str(raw / "bench-py314.json.gz"), str(raw / "bench-py314t.json.gz"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("== bench-py314 → bench-py314t")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("native_lcg[threads-holding-gil,w=2]"))
    assert "faster" in line  # holding the GIL: serialised on 3.14, parallel on 3.14t


def test_bad_arguments_are_one_line_errors(smoke_run, tmp_path):
    assert_one_line_error(
        run_module("harness", "compare", str(smoke_run), str(smoke_run / "bench-host.json")), "not one of each"
    )
    assert_one_line_error(
        run_module("harness", "compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")), "a.json"
    )
