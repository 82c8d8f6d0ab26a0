"""Charts drawn in worker processes: the same SVG as drawn here, every chart back whatever
becomes of a worker, and a chart's own error raised here."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from test_charts import COLORS, LABELS, PICKS, ladder

from harness import charts, drawing


@pytest.fixture(autouse=True)
def pool_from_the_first_chart(monkeypatch):
    monkeypatch.setattr(drawing, "POOL_AFTER", 1)


def drawings() -> list[drawing.Drawing]:
    data = ladder()
    return [
        drawing.Drawing("scaling", charts.scaling, (data, LABELS, COLORS, "spin")),
        drawing.Drawing("around", charts.around_gil, (data, LABELS, 4, PICKS)),
        drawing.Drawing("heatmap", charts.heatmap, (data, LABELS)),
    ]


def test_a_worker_draws_the_same_svg_as_this_process():
    worker = subprocess.Popen([sys.executable, "-m", "harness.drawing"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert pickle.load(worker.stdout) == drawing.READY
        for d in drawings():
            pickle.dump(d, worker.stdin)
            worker.stdin.flush()
            assert pickle.load(worker.stdout) == (True, d())
    finally:
        worker.stdin.close()
        worker.wait(timeout=60)
        worker.stdout.close()


def test_the_drawer_gives_every_chart_in_the_order_placed():
    with drawing.Drawer(workers=1) as drawer:
        for d in drawings():
            drawer.add(d)
        assert len(drawer._processes) == 1
        got = drawer.result()
    assert got == {d.name: d() for d in drawings()}


def test_a_worker_that_dies_leaves_its_charts_to_this_process():
    with drawing.Drawer(workers=1) as drawer:
        for d in drawings():
            drawer.add(d)
        drawer._processes[0].kill()
        got = drawer.result()
    assert list(got) == ["scaling", "around", "heatmap"] and all(svg.startswith("<svg") for svg in got.values())


def test_a_chart_that_fails_in_a_worker_raises_here():
    broken = drawing.Drawing("broken", charts.scaling, (pd.DataFrame(), LABELS, COLORS, "spin"))
    with drawing.Drawer(workers=1) as drawer, pytest.raises(KeyError):
        drawer.add(broken)
        drawer.result()


def test_a_worker_never_runs_the_callers_script_again(tmp_path):
    """A script without the ``if __name__ == "__main__"`` guard: a multiprocessing pool
    would import it again in every worker; a worker here imports the charts alone."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            """
            from harness import charts, drawing
            drawing.POOL_AFTER = 1
            print("script ran")
            with drawing.Drawer(workers=1) as drawer:
                drawer.add(drawing.Drawing("empty", charts.timeline, ([{"threads": 0, "slices": [],
                    "seconds": 1.0, "env": "e"}], {})))
                print(sorted(drawer.result()))
            """
        )
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["script ran", "['empty']"]
