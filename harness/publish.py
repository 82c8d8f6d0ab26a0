"""Publish: results folders -> pages of the docs site, and the index of every published run.

``docs/results/<run-id>/``      the charts (``<name>.svg``), ``summary.csv``, ``derived.csv``
``docs/results/<run-id>/raw/``  the run's own files: ``<env>.json.gz`` (the pyperf file, gzipped),
                                ``<env>.status.json``, ``<env>.timeline.json``, ``run.json``;
                                ``collect.load_runs`` and ``pyperf`` read this folder as it is
``docs/results/<run-id>.md``    the run's page
``docs/results/index.md``       a row per published run, every machine side by side
``docs/results/latest.md``      the newest run

Published runs are the source of truth: the index is rebuilt from every ``raw/``
folder each time, so runs published from different machines (or by CI) merge by
copying folders.  Pages are MyST Markdown; every string that came from a results
file goes through ``_text``, so a hostname such as ``<script>`` renders as text.
"""

from __future__ import annotations

import gzip
import math
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

import pandas as pd
import pyperf

from harness import collect, report
from workloads import _results, _schema

RESULTS = "results"
RAW = "raw"
# Run ids and env names become file and page names: keep them to safe characters.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
NO_RUNS = "No runs are published yet: `python -m harness publish results/<run-id>` adds one."


class PublishError(Exception):
    """A results folder that cannot be published; the message names it."""


@dataclass
class RunInfo:
    """One row of the runs index."""

    run_id: str
    date: str  # ISO 8601, UTC; sorts chronologically
    machine: str
    hostname: str
    cpu_model: str
    cpu_count: str
    os: str
    interpreters: list[str]
    profile: str


def publish(folders: list[Path], docs_dir: Path) -> list[Path]:
    """Publish each ``results/<run-id>`` folder into ``docs_dir``; rebuild the index.

    Returns the pages written.  Publishing a run again replaces it with the same
    bytes when its results did not change (the SVG charts aside: matplotlib stamps
    them with the time).  All folders are checked first, and the index is rewritten
    even when a folder fails, so it always lists exactly what is published.
    """
    for folder in folders:
        if not folder.is_dir():
            raise PublishError("%s: no such results folder (expected results/<run-id>)" % folder)
    root = docs_dir / RESULTS
    pages: list[Path] = []
    try:
        pages.extend(_publish_run(folder, root) for folder in folders)
    finally:
        pages += write_index(root)
    return pages


def write_index(root: Path) -> list[Path]:
    """Write ``index.md`` and ``latest.md`` from every run published under ``root``."""
    runs = sorted((_run_info(d) for d in _published(root)), key=lambda r: (r.date, r.run_id), reverse=True)
    index, latest = root / "index.md", root / "latest.md"
    _results.atomic_write_text(str(index), _index_page(runs))
    _results.atomic_write_text(str(latest), _latest_page(runs[0] if runs else None))
    return [index, latest]


def latest_run(root: Path) -> Optional[str]:
    """The id of the newest run published under ``root`` (by start date), or None."""
    dated = [(_run_date(d / RAW), d.name) for d in _published(root)]
    return max(dated)[1] if dated else None


# -- one run ------------------------------------------------------------------------


def _publish_run(folder: Path, root: Path) -> Path:
    data = collect.load_runs([folder])
    run_ids = sorted(set(data.benchmarks["run_id"]))
    if len(run_ids) != 1 or not SAFE_NAME.match(run_ids[0]):
        raise PublishError("%s: expected one run id of safe characters, found %s" % (folder, ", ".join(run_ids)))
    run_id = run_ids[0]
    built = report.build(data)
    staging = root / (".staging-" + run_id)
    shutil.rmtree(staging, ignore_errors=True)
    _copy_raw(folder, staging / RAW)
    for chart in built.charts:
        (staging / (_file_name(chart.name) + ".svg")).write_text(chart.svg, encoding="utf-8")
    collect.summary_frame(data.benchmarks).to_csv(staging / "summary.csv", index=False)
    report.derived_csv(built).to_csv(staging / "derived.csv", index=False)
    _swap_in(staging, root / run_id)
    page = root / (run_id + ".md")
    _results.atomic_write_text(str(page), _run_page(root / run_id, built, _run_info(root / run_id)))
    return page


def _raw_name(path: Path) -> Optional[str]:
    """Where ``path`` goes under ``raw/`` (sidecars in ``meta/``, as in a results folder),
    or None when it is not part of a run's record."""
    name = path.name
    if name == _schema.MANIFEST or name.endswith((_schema.STATUS_SUFFIX, _schema.TIMELINE_SUFFIX)):
        return _schema.META_DIR + "/" + name
    if collect.is_suite_file(path):
        return name if name.endswith(".gz") else name + ".gz"
    return None


def _copy_raw(folder: Path, raw: Path) -> None:
    (raw / _schema.META_DIR).mkdir(parents=True)
    for path in collect.run_files(folder):
        name = _raw_name(path)
        if name is None:
            continue
        if not SAFE_NAME.match(path.name):
            raise PublishError("%s: refusing to publish a file name with unusual characters" % path)
        data = path.read_bytes()
        if name.endswith(".gz") and not path.name.endswith(".gz"):
            data = gzip.compress(data, mtime=0)  # mtime=0: the same results give the same bytes
        (raw / name).write_bytes(data)


def _swap_in(staging: Path, final: Path) -> None:
    """Replace ``final`` by ``staging`` so that a reader never sees half a run."""
    old = final.with_name(".old-" + final.name)
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


# -- what the index knows about a run ------------------------------------------------


def _published(root: Path) -> Iterable[Path]:
    if root.is_dir():
        yield from (d for d in sorted(root.iterdir()) if (d / RAW).is_dir() and not d.name.startswith("."))


def _run_date(raw: Path) -> str:
    """When the run started: the manifest says; otherwise the run id's UTC timestamp."""
    manifest = _manifest(raw)
    if manifest.get("started"):
        return str(manifest["started"])
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.strptime(raw.parent.name.split("-")[0], "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return ""


def _manifest(raw: Path) -> dict[str, Any]:
    path = _schema.find_meta(str(raw), _schema.MANIFEST)
    return _results.read_json(path) if path else {}


def _suite_metadata(raw: Path) -> list[dict[str, Any]]:
    """Each env's common pyperf metadata, in env order."""
    files = sorted(p for p in raw.iterdir() if collect.is_suite_file(p))
    return [pyperf.BenchmarkSuite.load(str(p)).get_metadata() for p in files]


def _run_info(run_dir: Path) -> RunInfo:
    """Index facts from ``raw/run.json``'s ``machine``; pyperf metadata where it has none."""
    raw = run_dir / RAW
    manifest = _manifest(raw)
    machine = manifest.get("machine", {})
    metas = _suite_metadata(raw)
    first = metas[0] if metas else {}
    return RunInfo(
        run_id=run_dir.name,
        date=_run_date(raw),
        machine=str(machine.get("id") or run_dir.name.rpartition("-")[2]),
        hostname=str(machine.get("hostname") or first.get("hostname", "")),
        cpu_model=str(machine.get("cpu_model") or first.get("cpu_model_name", "")),
        cpu_count=str(machine.get("cpu_count") or first.get("cpu_count", "")),
        os=str(machine.get("os") or first.get("platform", "")),
        interpreters=[
            "%s (%s %s)" % (m.get("env", "?").removeprefix("bench-"), m.get("implementation", ""), m.get("version", ""))
            for m in metas
        ],
        profile=str(manifest.get("profile") or first.get("profile", "")),
    )


# -- Markdown ------------------------------------------------------------------------


def _text(value: Any) -> str:
    """``value`` as Markdown that renders as exactly that text: whitespace folded to
    spaces, every ASCII punctuation character backslash-escaped (CommonMark allows
    escaping any of them), so no HTML, link, role or table syntax survives."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


@dataclass(frozen=True)
class _Markup:
    """Markdown we wrote ourselves from safe names: passes through ``_table`` as is."""

    text: str


def _table(columns: list[str], rows: Iterable[Iterable[Any]]) -> str:
    """A Markdown table; cells are escaped, except ``_Markup`` ones (our own links)."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [c.text if isinstance(c, _Markup) else _text(c) for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _page_link(run_id: str) -> _Markup:
    return _Markup("[%s](%s.md)" % (_text(run_id), run_id))


def _date(iso: str) -> str:
    return iso.replace("T", " ")[:16] + " UTC" if iso else "unknown"


def _index_page(runs: list[RunInfo]) -> str:
    out = [
        "# Published runs\n",
        "Every run published with `python -m harness publish`, newest first. Runs from different "
        "machines sit side by side; each page links its raw pyperf files. The machine id is a short "
        "hash of the machine's id, stable across runs. [The latest run](latest.md).\n",
    ]
    if runs:
        columns = ["run", "date", "machine", "hostname", "CPU", "cores", "OS", "interpreters", "profile"]
        rows = [
            [_page_link(r.run_id), _date(r.date), r.machine, r.hostname, r.cpu_model, r.cpu_count, r.os,
             ", ".join(r.interpreters), r.profile]
            for r in runs
        ]  # fmt: skip
        out.append(_table(columns, rows))
    else:
        out.append(NO_RUNS + "\n")
    out.append("```{toctree}\n:hidden:\n\nlatest\n" + "".join(r.run_id + "\n" for r in runs) + "```\n")
    return "\n".join(out)


def _latest_page(run: Optional[RunInfo]) -> str:
    if run is None:
        return "# Latest run\n\n" + NO_RUNS + "\n"
    return "# Latest run\n\nThe newest published run is %s, started %s on %s (%s, %s CPUs).\n" % (
        _page_link(run.run_id).text,
        _text(_date(run.date)),
        _text(run.hostname or run.machine),
        _text(run.cpu_model),
        _text(run.cpu_count),
    )


def _ratio(row: pd.Series, name: str) -> tuple[str, str]:
    """(value, interval) columns of a ratio from the derived frames, '' where absent."""
    value = row.get(name)
    if value is None or pd.isna(value):
        return "", ""
    interval = "%.2f–%.2f" % (row[name + "_lo"], row[name + "_hi"])
    if not row.get(name + "_significant", True):
        interval += " (not significant)"
    return "%.2f×" % value, interval


def _gil_at_runtime(env: pd.Series) -> str:
    """'on' / 'off'; a free-threaded build whose GIL came back without PYTHON_GIL=1 says so."""
    if not env.get("gil_enabled", True):
        return "off"
    if env.get("free_threaded_build") and str(env.get("python_gil_env", "")) != "1":
        return "on: re-enabled at run time (an extension without free-threading support?)"
    return "on"


def _speedup_table(built: report.Report) -> str:
    if built.derived.empty:
        return "No speedups: no serial baseline was measured.\n"
    rows = []
    for _, r in built.derived.iterrows():
        net, net_ci = _ratio(r, "net_speedup")
        vs = built.labels.get(r.get("net_baseline_env", ""), r.get("net_baseline_env", ""))
        rows.append([
            built.labels.get(r["env"], r["env"]), r["workload"], r["params"], r["mode"], r["workers"],
            *_ratio(r, "speedup"), "%.0f%%" % (100 * r["efficiency"]), net, net_ci,
            vs + ("" if r.get("net_matched", True) else " (not a matched build)"),
        ])  # fmt: skip
    columns = ["interpreter", "workload", "params", "mode", "workers", "speedup", "95% CI", "efficiency",
               "net speedup", "net 95% CI", "net vs"]  # fmt: skip
    return _table(columns, rows)


def _overhead_section(built: report.Report) -> list[str]:
    overheads = built.analysis.overheads
    if overheads.empty:
        return []
    rows = [
        [r["kind"], built.labels.get(r["env"], r["env"]), built.labels.get(r["baseline_env"], r["baseline_env"])
         + ("" if r.get("matched", True) else " (not a matched build)"), r["workload"], r["params"],
         *_ratio(r, "overhead")]
        for _, r in overheads.iterrows()
    ]  # fmt: skip
    columns = ["kind", "build", "vs", "workload", "params", "serial time ratio", "95% CI"]
    return ["## Build overheads\n", _table(columns, rows)]


def _latency_section(built: report.Report) -> list[str]:
    lat = built.analysis.latency
    if lat.empty:
        return []
    rows = [
        [built.labels.get(r["env"], r["env"]), r["workload"], r["workers"], "%g ms" % r["switch_ms"], r["n"],
         "%.3f ms" % (r["p50"] * 1e3), "%.3f ms" % (r["p99"] * 1e3), "%.0f" % r["requests_per_s"]]
        for _, r in lat.iterrows()
    ]  # fmt: skip
    columns = ["interpreter", "workload", "CPU threads", "switch interval", "n", "p50", "p99", "requests/s"]
    return ["## Latency\n", _table(columns, rows)]


def _facts(info: RunInfo, labels: dict[str, str]) -> str:
    facts = {
        "date": _date(info.date),
        "machine": info.machine,
        "hostname": info.hostname,
        "CPU": info.cpu_model,
        "cores": info.cpu_count,
        "OS": info.os,
        "profile": info.profile,
        "interpreters": ", ".join(labels.get(e, e) for e in sorted(labels)),
    }
    return _table(["", ""], facts.items())


def _charts(run_id: str, charts: list[report.Chart]) -> str:
    """A MyST figure per chart; titles and captions are ours, escaped all the same."""
    figure = "```{figure} %s/%s.svg\n:class: chart\n:alt: %s\n\n%s\n```\n"
    return "\n".join(
        figure % (run_id, _file_name(c.name), _text(c.title), _text(" ".join(filter(None, (c.title + ".", c.caption)))))
        for c in charts
    )


def _environment(built: report.Report) -> str:
    columns = [
        "env",
        "interpreter",
        "free-threaded build",
        "GIL at run time",
        "JIT",
        "compiler",
        "ok/failed/incomplete/unavail.",
    ]
    rows = [
        [e["env"], built.labels.get(e["env"], e["env"]), "yes" if e.get("free_threaded_build") else "no",
         _gil_at_runtime(e), e.get("jit", ""), e.get("compiler", ""),
         "%s / %s / %s / %s" % (e.get("ok", ""), e.get("failed", ""), e.get("incomplete", ""),
                                e.get("unavailable", ""))]
        for _, e in built.data.envs.iterrows()
    ]  # fmt: skip
    return _table(columns, rows)


def _run_page(run_dir: Path, built: report.Report, info: RunInfo) -> str:
    findings = "".join("- %s\n" % _text(f) for f in built.findings)
    sections = [
        "# Run %s\n" % run_dir.name,
        _facts(info, built.labels),
        "Generated by `python -m harness publish`; [Reading the report](../report.md) defines every number.\n",
        "## Findings\n",
        findings or "No comparisons could be made from these results.\n",
        "## Charts\n",
        _charts(run_dir.name, built.charts) or "No charts.\n",
        "## Speedups\n",
        _speedup_table(built),
        *_overhead_section(built),
        *_latency_section(built),
        "## Environment\n",
        _environment(built),
        "## Failed and unavailable\n",
        _problems(built.data),
        "## Data\n",
        _downloads(run_dir),
    ]
    return "\n".join(sections)


def _problems(data: collect.RunData) -> str:
    """Benchmarks that did not give a number, envs that were skipped, files that were unusable."""
    rows = []
    if not data.outcomes.empty:
        failed = data.outcomes[data.outcomes["status"] != "ok"]
        rows += [[o["env"], o["name"], o["status"], o["reason"]] for _, o in failed.iterrows()]
    for manifest in data.manifests:
        for env, entry in sorted(manifest.get("envs", {}).items()):
            if entry.get("status") not in ("ok", "planned"):
                rows.append([env, "(whole env)", entry.get("status", ""), entry.get("reason", "")])
    rows += [["", "(results file)", "unreadable", problem] for problem in data.problems]
    return _table(["env", "benchmark", "status", "reason"], rows) if rows else "None: every planned benchmark ran.\n"


def _downloads(run_dir: Path) -> str:
    raw = run_dir / RAW
    files = ["summary.csv", "derived.csv"] + ["%s/%s" % (RAW, p.relative_to(raw)) for p in collect.run_files(raw)]
    return "".join("- {download}`%s <%s/%s>`\n" % (f, run_dir.name, f) for f in files)
