"""Environment: a row per env (interpreter, build, GIL at run time, outcomes), a muted
row per env that did not run; and the findings' warning where a free-threaded build's
GIL came back."""

from __future__ import annotations

from typing import Any

from harness.page import Cell, Code, Row, Section, Table, Text
from harness.sections._cells import records
from harness.sections._context import Context
from workloads.host import gil_forced

COLUMNS = [
    "env",
    "interpreter",
    "free-threaded build",
    "GIL at runtime",
    "JIT",
    "subinterpreters",
    "compiler",
    "PGO/LTO",
    "pair",
    "ok / failed / incomplete / unavailable",
    "executable",
]


def _gil_at_runtime(env: dict[str, Any]) -> str:
    """'on' / 'off'; a free-threaded build whose GIL came back without PYTHON_GIL=1 says so."""
    forced = str(env.get("python_gil_env") or "")
    if not env.get("gil_enabled", True):
        return "off" + (" (PYTHON_GIL=%s)" % forced if forced else "")
    if env.get("free_threaded_build") and forced != "1":
        return "on: re-enabled at run time (an extension without free-threading support?)"
    return "on" + (" (PYTHON_GIL=%s)" % forced if forced else "")


def build(ctx: Context) -> list[Section]:
    data = ctx.report.data
    rows = [
        Row(
            [
                Text(e["env"]),
                Text(ctx.labels.get(e["env"], "%s %s" % (e["implementation"], e["version"]))),
                Text("yes" if e["free_threaded_build"] else "no"),
                Text(_gil_at_runtime(e)),
                Text(str(e["jit"])),
                Text(str(e.get("subinterpreters") or "-")),
                Text(str(e["compiler"])),
                Text("%s/%s" % ("PGO" if e["pgo"] else "-", "LTO" if e["lto"] else "-")),
                Text(str(e["pair_id"])),
                Text("%s / %s / %s / %s" % (e["ok"], e["failed"], e["incomplete"], e["unavailable"])),
                Code(str(e["executable"])),
            ]
        )
        for e in records(data.envs)
    ]
    blank: list[Cell] = [Text("") for _ in range(len(COLUMNS) - 2)]
    rows += [
        Row([Text(env), Text("%s: %s" % (info.get("status", ""), info.get("reason", ""))), *blank], muted=True)
        for manifest in data.manifests
        for env, info in sorted(manifest.get("envs", {}).items())
        if info.get("status") not in ("ok", "planned")
    ]
    return [Section("environment", "Environment", tables=[Table("envs", COLUMNS, rows)])]


def gil_flags(ctx: Context) -> list[str]:
    """A warning per free-threaded env where an imported extension switched the GIL back on."""
    b = ctx.report.data.benchmarks
    flagged = b[b["free_threaded_build"] & b["gil_enabled"] & ~b["python_gil_env"].map(gil_forced).astype(bool)]
    return [
        "Warning: on %s, %d benchmark(s) ran with the GIL enabled although the build is free-threaded and "
        "PYTHON_GIL is not set (%s): an imported extension switched it back on."
        % (ctx.who(env), len(group), ", ".join(sorted(set(group["workload"]))))
        for env, group in flagged.groupby("env")
    ]
