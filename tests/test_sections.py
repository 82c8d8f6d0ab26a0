"""One page, two renderers: the HTML report and the docs page show what ``harness.sections`` built."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from helpers import EXAMPLE_RUN, HOSTILE, ROOT

from harness import analysis, collect, model, publish, report, sections
from harness.page import Estimate, Page, Section, Text, from_json, to_json

RUN = "20260101T000000Z-test00"  # the published smoke run, with the hostile hostname


@pytest.fixture(scope="module")
def example() -> model.Report:
    """The committed example run as a Report (its charts are left undrawn below: drawing is the slow part)."""
    data = collect.load_runs([ROOT / "docs" / "results" / EXAMPLE_RUN / publish.RAW])
    return model.build(data, analysis.analyse(data.benchmarks, data.envs))


def build_page(report: model.Report) -> Page:
    return sections.build(report, draw=False).page


def _section(page: Page | Section, id: str) -> Section:
    """The section called ``id``, at any depth."""
    for s in page.sections if isinstance(page, Page) else page.subsections:
        if s.id == id:
            return s
        try:
            return _section(s, id)
        except KeyError:
            pass
    raise KeyError(id)


def test_view_round_trips_through_json(example):
    page = build_page(example)
    text = to_json(page)
    assert from_json(text) == page
    assert to_json(from_json(text)) == text
    json.loads(text)  # strict JSON: no NaN


def _with_a_problem_and_a_memory_ratio(example: model.Report) -> model.Report:
    """The example run with one gated one-worker ratio and one peak-memory ratio, where it
    has none: the view must show both kinds of row whatever the committed run holds."""
    a = example.analysis
    one, over = a.one_worker.copy(), a.overheads.copy()
    if not (one["problem"] != "").any():
        one.loc[one.index[0], "problem"] = "one worker ran 0.80× as fast as serial (0.75–0.85): outside [0.95, 1.05]"
    ft = over.index[over["kind"] == "free-threading"]
    if over.loc[ft, "memory"].isna().all():
        over.loc[ft[0], ["memory", "memory_lo", "memory_hi"]] = [1.1, 1.05, 1.15]
    return dataclasses.replace(example, analysis=dataclasses.replace(a, one_worker=one, overheads=over))


def test_view_shows_what_only_one_renderer_showed_before(example):
    example = _with_a_problem_and_a_memory_ratio(example)
    page = build_page(example)
    assert [s.id for s in page.sections] == ["findings", "headline", "charts", "numbers", "environment", "problems"]
    gated = _section(page, "measurement-problems").tables[0]
    a = example.analysis
    assert len(gated.rows) == int((a.derived["problem"] != "").sum() + (a.one_worker["problem"] != "").sum())
    one = _section(page, "one-worker").tables[0]  # the baseline of pool and subinterpreter speedups
    assert len(one.rows) == len(a.one_worker) > 0
    assert _section(page, "warmups").paragraphs  # a JIT's warm-up problems
    memory = _section(page, "overheads").tables[0]
    assert memory.columns[-1] == "peak memory ratio (95% CI)"
    assert any(isinstance(r.cells[-1], Estimate) for r in memory.rows)
    unavailable = _section(page, "problems").tables[0]
    pairs = [(r.cells[0].text, r.cells[2].text) for r in unavailable.rows]
    assert len(pairs) == len(set(pairs)), "one line per env and reason"


def test_a_free_threaded_build_whose_gil_came_back_says_so(example):
    envs = example.data.envs.copy()
    envs.loc[envs["env"] == "bench-py313t", "gil_enabled"] = True
    data = collect.RunData(example.data.benchmarks, example.data.outcomes, envs, example.data.manifests)
    page = build_page(dataclasses.replace(example, data=data))
    rows = {r.cells[0].text: r.cells[3].text for r in _section(page, "environment").tables[0].rows}
    assert rows["bench-py313t"].startswith("on: re-enabled at run time")
    assert rows["bench-py313t-gil"] == "on (PYTHON_GIL=1)" and rows["bench-py313"] == "on"


def test_strings_in_the_view_are_text_and_the_html_escapes_them(example):
    """A string from a results file (here a workload name in the provenance check's warning,
    the first finding) stays text in the page, and the HTML escapes it."""
    analysed = dataclasses.replace(example.analysis, provenance=[HOSTILE])
    view = sections.build(dataclasses.replace(example, analysis=analysed), draw=False)
    warning = "Warning: %s; its ratios compare different code." % HOSTILE
    assert view.page.sections[0].items[0].parts == [Text(warning)]
    out = report.render(view)
    assert HOSTILE not in out and "<script>alert" not in out
    assert html.escape(HOSTILE, quote=False) in out


def _report_titles(text: str) -> list[str]:
    """Section and subsection titles of the HTML report, in order (chart titles left out)."""
    pattern = (
        r'<section id="[^"]+">\s*<h2>(.*?)</h2>|<h3 id="[^"]+">(.*?)</h3>|<details id="[^"]+"><summary>(.*?)</summary>'
    )
    return [html.unescape("".join(m)) for m in re.findall(pattern, text)]


def _docs_titles(text: str) -> list[str]:
    """Section titles of a Sphinx page below its own title, in order."""
    return [html.unescape(t) for t in re.findall(r"<h[2-6]>(.*?)<a class=\"headerlink\"", text)]


def test_report_and_docs_page_show_the_same_sections(published_docs, site):
    """The HTML report of a run and its published page render one view: the same
    titles in the same order (the page adds its Data section: links to its files)."""
    run_dir = published_docs / "results" / RUN
    published = from_json((run_dir / publish.VIEW).read_text())
    view = sections.build(model.build(collect.load_runs([run_dir / publish.RAW])), draw=False)
    assert view.page == published
    titles = _report_titles(report.render(view))
    assert titles[:3] == ["Findings", "Headline", "Charts"] and "Environment" in titles

    page = (site / "results" / (RUN + ".html")).read_text()  # the docs site, built as `tox -e docs` builds it
    assert _docs_titles(page) == titles + ["Data"]
    assert HOSTILE not in page and html.escape(HOSTILE, quote=False) in page
    for chart in Path(run_dir).glob("*.svg"):
        assert 'id="chart-%s"' % chart.stem in page


@pytest.fixture(scope="module")
def smoke_report(smoke_run) -> model.Report:
    """A real smoke run of this interpreter as a Report: it exists on every checkout (the
    example run may not be committed)."""
    return model.build(collect.load_runs([smoke_run]))


def _with_pyperformance(example: model.Report) -> model.Report:
    """The example run with pyperformance geometric means and one benchmark's ratios, as
    ``analysis.pyperformance_geomeans`` and ``build_overheads`` make them."""
    geo = pd.DataFrame(
        [
            {
                "kind": kind,
                "run_id": RUN,
                "env": env,
                "baseline_env": base,
                "matched": True,
                "benchmarks": 18,
                "memory_benchmarks": 18 if memory else 0,
                "time": t,
                "time_lo": t - 0.02,
                "time_hi": t + 0.02,
                "time_hw": 0.02,
                "time_rounds": 3,
                "memory": memory,
                "memory_lo": memory and memory - 0.1,
                "memory_hi": memory and memory + 0.1,
                "memory_hw": 0.1,
                "memory_rounds": 3,
                "time_verdict": analysis.verdict(t - 0.02, t + 0.02, analysis.PEP779_TIME_BAR) if graded else "",
                "memory_verdict": (
                    analysis.verdict(memory - 0.1, memory + 0.1, analysis.PEP779_MEMORY_BAR)
                    if graded and memory
                    else ""
                ),
            }
            for kind, env, base, t, memory, graded in (
                ("free-threading", "bench-py313t", "bench-py313", 1.12, 1.2, True),
                ("forced GIL", "bench-py313t-gil", "bench-py313t", 1.3, None, True),
                ("vs reference", "bench-py39", "bench-py313", 1.5, 0.9, False),
            )
        ]
    )
    per = pd.concat(
        [
            pd.DataFrame(
                [
                    {
                        "kind": "free-threading",
                        "run_id": RUN,
                        "env": "bench-py313t",
                        "baseline_env": "bench-py313",
                        "matched": True,
                        "workload": "pyperformance.nbody",
                        "params": "",
                        "name": "pyperformance.nbody[serial]",
                    }
                ]
            ),
            analysis.ratio_columns(
                "overhead", [analysis.Sides({0: 1.2, 1: 1.3}, {0: 1.0, 1: 1.05})], analysis.Moderation()
            ),
            analysis.ratio_columns("memory", [analysis.Sides({0: 1.1, 1: 1.1}, {0: 1.0, 1: 1.0})]),
        ],
        axis=1,
    )
    return dataclasses.replace(example, analysis=dataclasses.replace(example.analysis, geomeans=geo, pyperformance=per))


def test_the_pyperformance_section_holds_the_geomeans_against_pep779(smoke_report):
    example = _with_pyperformance(smoke_report)
    view = sections.build(example, draw=False)
    page = view.page
    assert [s.id for s in page.sections][:5] == ["findings", "headline", "charts", "pyperformance", "scaling"]
    section = _section(page, "pyperformance")
    rows = {r.cells[1].text: [c.text for c in r.cells] for r in section.tables[0].rows}
    ft, forced, old = rows["bench-py313t"], rows["bench-py313t-gil"], rows["bench-py39"]
    assert ft[5] == "1.12× (1.10–1.14)" and ft[6].startswith("within PEP 779's bar (at most 15% more)")
    assert ft[7] == "1.20× (1.10–1.30)" and ft[8].startswith("undecided: the interval straddles 1.20×")
    assert forced[6].startswith("above PEP 779's bar") and forced[7] == "not measured"
    assert old[6] == old[8] == ""  # PEP 779's bars are for free-threaded builds only
    each = _section(page, "pyperformance-each").tables[0].rows
    assert [c.text for c in each[0].cells[:2]] == ["nbody", "free-threading"]
    assert from_json(to_json(page)) == page
    out = report.render(view)
    assert "pyperformance: what a build costs one thread" in out


def test_no_pyperformance_section_without_pyperformance(smoke_report):
    assert "pyperformance" not in [s.id for s in build_page(smoke_report).sections]


def test_the_scaling_section_shows_the_family_kernels_a_run_measured(smoke_report, example):
    """The smoke run measures the kernels the family shares with the default run; the
    example run, from before families were recorded, has no scaling section."""
    section = _section(build_page(smoke_report), "scaling")
    kernels = {r.cells[0].text for r in section.tables[0].rows}
    assert kernels == set(smoke_report.analysis.scaling["workload"])
    assert "object_creation" in kernels and "countdown" not in kernels
    assert "scaling" not in [s.id for s in build_page(example).sections]
