"""The moderated interval on a run: what pooling the noise buys, and whether it covers.

A ratio's interval has been Student's t on its per-round log ratios: with 3-4 rounds,
t multiplies by 4.30 or 3.18 and each ratio estimates its own variance from 2-3 degrees
of freedom.  The moderated interval (``harness.stats.fit_prior`` and
``moderated_matrix``) borrows the variance from the run's other ratios, through a prior
whose trend follows each ratio's within-process spread, its kind and its workload.  This
tool, on the pyperf files of a run:

(a) re-analyses its headline ratios (``analysis.Analysis.headline``) with Student's t,
    checking that it reproduces the half-widths the report has, and with the moderated
    interval, and prints the fitted prior and both intervals' median and p90 widths,
    and the rounds the median and p90 ratio would need for ±3% by each;
(b) the A/A twin's ratios (ENV against ENV-aa, the same interpreter): how many of their
    intervals exclude 1 under each;
(c) with ``--simulate N``, N simulated runs per setting, whose ratios have the run's
    covariates and variances drawn like its own (``population``): the coverage of the
    moderated interval, overall and in the noisiest tenth of ratios, at 3, 4, 6 and 10
    rounds, with normal, t(4) and shared-drift noise, without and with stopping at ±3%.

    python -m tools.moderated docs/results/20261203T065148Z-003596/raw
    python -m tools.moderated docs/results/20261203T065148Z-003596/raw \
        --simulate 100 --jobs 2 --json docs/data/moderated.json

Offline arithmetic on committed files: no timing of this machine is involved.  The
re-analysis takes seconds; ``--simulate 100 --jobs 2`` about 12 minutes on this
project's 2-vCPU VM (docs/how-sure.md quotes it).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
from scipy import special

from harness import analysis, collect, stats
from harness.collect import ResultsError

AA = "A/A"  # the kind of the A/A twin's ratios
TARGET = 0.03  # the stopping rule's target in the simulation, as bench-all's --precision default
ROUNDS = (3, 4, 6, 10)
NOISES = ("normal", "t(4)", "shared drift")
LAWS = ("lognormal", "inverse chi2")
SHARED = 0.3  # the share of a ratio's per-round variance that "shared drift" gives every ratio of a round
MOST_ROUNDS = 24  # a simulated run that stops at the target measures at most this many rounds
SIZES = (10, 20, 30, 40, 60, 100, 200)  # prior sizes tried for the fallback's minimum


@dataclass
class Ratios:
    """The ratios of a run, as the moderated interval takes them: (ratios x rounds)
    arrays of each side's round means and within-process standard errors, with each
    ratio's kind, group (workload) and the names that say which it is."""

    a: np.ndarray
    b: np.ndarray
    within_a: np.ndarray
    within_b: np.ndarray
    labels: pd.DataFrame  # kind, env, name, other_env, other_name, workload, mode, hw (the report's)

    @property
    def within(self) -> np.ndarray:
        return stats.within_variance(self.a, self.b, self.within_a, self.within_b)

    @property
    def kinds(self) -> list[str]:
        return list(self.labels["kind"])

    @property
    def groups(self) -> list[str]:
        return list(self.labels["workload"])

    def prior(self) -> stats.Prior | None:
        return stats.fit_prior(self.a, self.b, self.within, self.kinds, self.groups)

    def moderated(self, prior: stats.Prior | None) -> dict[str, np.ndarray]:
        return stats.moderated_matrix(self.a, self.b, self.within, self.kinds, self.groups, prior)


def _rows(sides: list[dict[int, float]], width: int) -> np.ndarray:
    """(ratios x rounds) of per-round values, NaN where a round has none."""
    out = np.full((len(sides), width), np.nan)
    for i, side in enumerate(sides):
        for r, v in side.items():
            out[i, r] = v
    return out


def ratios(benchmarks: pd.DataFrame, result: analysis.Analysis) -> Ratios:
    """The headline ratios of ``result`` and its A/A twin's ratios, side by side.

    Which side is the numerator does not matter for a width (the log ratio changes sign);
    a one-worker ratio whose serial side was timed inside the worker benchmark's own
    process (``serial_in_process``) has no within-process spread for that side, so it
    falls back to Student's t.
    """
    by = benchmarks.set_index(["env", "name"])
    rows = []
    head = result.headline()
    for kind, env, name, other_env, other_name, hw in head[
        ["kind", "env", "name", "other_env", "other_name", "hw"]
    ].itertuples(index=False):
        this, other = by.loc[(env, name)], by.loc[(other_env, other_name)]
        if kind == "one worker" and (other_env, other_name) == (env, name):
            own = this["serial_in_process"]
            base = (own if isinstance(own, dict) else {}, {})
        else:
            base = (other["rounds"], other[collect.WITHIN])
        rows.append((kind, env, name, other_env, other_name, this["workload"], this["mode"], hw, this, base))
    for env, env_aa, name in result.aa[["env", "env_aa", "name"]].itertuples(index=False):
        this, twin = by.loc[(env, name)], by.loc[(env_aa, name)]
        base = (twin["rounds"], twin[collect.WITHIN])
        rows.append((AA, env, name, env_aa, name, this["workload"], this["mode"], math.nan, this, base))
    width = 1 + max((max([*r[8]["rounds"], *r[9][0]], default=0) for r in rows), default=0)
    return Ratios(
        a=_rows([r[8]["rounds"] for r in rows], width),
        b=_rows([r[9][0] for r in rows], width),
        within_a=_rows([r[8][collect.WITHIN] for r in rows], width),
        within_b=_rows([r[9][1] for r in rows], width),
        labels=pd.DataFrame(
            [r[:8] for r in rows], columns=["kind", "env", "name", "other_env", "other_name", "workload", "mode", "hw"]
        ),
    )


def _pct(x: float) -> str:
    return "-" if not math.isfinite(x) else "±%.1f%%" % (100 * x)


def _widths(hw: np.ndarray) -> dict[str, float]:
    hw = hw[np.isfinite(hw)]
    return {
        "median": float(np.median(hw)),
        "p90": float(np.quantile(hw, 0.9)),
        "within_5": int((hw <= 0.05).sum()),
        "within_3": int((hw <= 0.03).sum()),
    }


def _needed(sd: np.ndarray, df: np.ndarray, n: np.ndarray, hw: np.ndarray) -> dict[str, int | None]:
    """The rounds the median and the 90th-percentile ratio (by half-width) would need for
    ±``TARGET``, extrapolated from the spread and degrees of freedom of their interval."""
    out: dict[str, int | None] = {}
    finite = np.isfinite(hw)
    for key, q in (("median", 0.5), ("p90", 0.9)):
        i = int(np.nanargmin(np.where(finite, np.abs(hw - np.quantile(hw[finite], q)), np.nan)))
        out[key] = stats.rounds_to_target(float(sd[i]), float(df[i]), int(n[i]), TARGET)
    return out


def reanalyse(data: Ratios) -> dict[str, Any]:
    """Student's t and the moderated interval on the same ratios: widths of the headline,
    the A/A exclusions, the prior, and how far Student's t is from the report's widths."""
    t = stats.ratio_matrix(data.a, data.b)
    prior = data.prior()
    m = data.moderated(prior)
    head = (data.labels["kind"] != AA).to_numpy()
    aa = ~head
    n = t["n"].astype(float)
    t_sd = np.array([stats.round_spread(hw, int(k)) for hw, k in zip(t["half_width"], n)])
    out: dict[str, Any] = {
        "ratios": int(head.sum()),
        "reproduced": float(np.nanmax(np.abs(t["half_width"][head] - data.labels["hw"].to_numpy()[head]))),
        "prior": prior.to_json() if prior else None,
        "moderated_ratios": int(m["moderated"][head].sum()),
        "student": {
            **_widths(t["half_width"][head]),
            "needed": _needed(t_sd, n - 1.0, n, np.where(head, t["half_width"], np.nan)),
        },
        "moderated": {
            **_widths(m["half_width"][head]),
            "needed": _needed(m["sd"], m["df"], n, np.where(head, m["half_width"], np.nan)),
        },
        "kinds": {},
    }
    for kind in dict.fromkeys(data.labels["kind"]):
        rows = (data.labels["kind"] == kind).to_numpy()
        out["kinds"][kind] = {
            "ratios": int(rows.sum()),
            "student": float(np.nanmedian(t["half_width"][rows])),
            "moderated": float(np.nanmedian(m["half_width"][rows])),
        }
    if aa.any():
        envs = sorted(set(data.labels.loc[aa, "env"]) | set(data.labels.loc[aa, "other_env"]))
        out["aa"] = {
            "envs": envs,
            "ratios": int(aa.sum()),
            "student": {"excluding": int(t["significant"][aa].sum()), "median": float(np.median(t["half_width"][aa]))},
            "moderated": {
                "excluding": int(m["significant"][aa].sum()),
                "median": float(np.median(m["half_width"][aa])),
            },
        }
    return out


def report(run: str, got: dict[str, Any]) -> list[str]:
    lines = [
        "run %s: %d headline ratios (%d moderated, the rest without a within-process spread keep t)"
        % (run, got["ratios"], got["moderated_ratios"]),
        "Student's t reproduces the report's half-widths: largest difference %.1e" % got["reproduced"],
    ]
    prior = got["prior"]
    if prior is None:
        lines.append("too few ratios for a prior: every interval is Student's t")
        return lines
    coef = prior["coefficients"]
    lines.append(
        "prior: d0 = %.2f, fitted on %d ratios; log s0² = %.3f × log(within-process variance) + a level per %s"
        % (prior["d0"] or math.inf, prior["ratios"], coef[stats.LOG_WITHIN], " and per ".join(prior["covariates"][1:]))
    )
    for key in sorted(k for k in coef if k.startswith("kind:")):
        lines.append("    %-40s %7.3f" % (key, coef[key]))
    groups = [v for k, v in coef.items() if k.startswith("group:")]
    if groups:
        lines.append("    %d group levels, from %.3f to %.3f" % (len(groups), min(groups), max(groups)))
    lines.append(
        "%-14s %9s %9s %9s %9s %22s" % ("interval", "median", "p90", "<=±5%", "<=±3%", "rounds for ±3% med/p90")
    )
    for key, label in (("student", "Student's t"), ("moderated", "moderated")):
        w = got[key]
        lines.append(
            "%-14s %9s %9s %9d %9d %14s / %s"
            % (label, _pct(w["median"]), _pct(w["p90"]), w["within_5"], w["within_3"], *w["needed"].values())
        )
    lines.append("median half-width per kind (t -> moderated):")
    for kind, k in got["kinds"].items():
        lines.append("    %-26s %4d ratios  %s -> %s" % (kind, k["ratios"], _pct(k["student"]), _pct(k["moderated"])))
    aa = got.get("aa")
    if aa:
        lines.append("A/A (%s, %d ratios whose truth is 1):" % (" vs ".join(aa["envs"]), aa["ratios"]))
        for key, label in (("student", "Student's t"), ("moderated", "moderated")):
            lines.append(
                "    %-12s %d exclude 1 (%.1f%%), median %s"
                % (label, aa[key]["excluding"], 100 * aa[key]["excluding"] / aa["ratios"], _pct(aa[key]["median"]))
            )
    return lines


# ---------------------------------------------------------------- simulation


@dataclass
class Population:
    """What a simulated run draws its ratios from: the run's covariates (within-process
    variance, kind, workload), and for each ratio the prior of its variance (``log_s0``
    and ``d0``, as a ``stats.Prior`` has them).

    Fitted on the run with a RICHER trend than the interval's own (a level per workload
    AND mode, where the interval has one per workload), so that the simulated truth is
    not the interval's model: the mismatch counts as noise the prior must admit.  The
    spread around that trend is the fitted prior's (``ψ'(d0/2)``, the variance of log σ²
    under a scaled-inverse-χ² prior)."""

    within: np.ndarray
    kinds: list[str]
    groups: list[str]
    log_s0: np.ndarray
    d0: float

    def sigmas(self, rng: np.random.Generator, law: str) -> np.ndarray:
        """Per-round SDs of every ratio's log ratio for one simulated run: lognormal
        around the trend, or scaled-inverse-χ² (the prior's own law)."""
        if law == "inverse chi2":
            return np.sqrt(np.exp(self.log_s0) * self.d0 / rng.chisquare(self.d0, len(self.log_s0)))
        mean = self.log_s0 + math.log(self.d0 / 2) - special.digamma(self.d0 / 2)
        return np.sqrt(np.exp(mean + math.sqrt(special.polygamma(1, self.d0 / 2)) * rng.standard_normal(len(mean))))

    def subset(self, rows: np.ndarray) -> Population:
        return Population(
            self.within[rows], [self.kinds[i] for i in rows], [self.groups[i] for i in rows], self.log_s0[rows], self.d0
        )


def population(data: Ratios) -> Population:
    rich = [w + "/" + m for w, m in zip(data.labels["workload"], data.labels["mode"])]
    truth = stats.fit_prior(data.a, data.b, data.within, data.kinds, rich)
    if truth is None:
        raise ResultsError("too few ratios to fit the simulation's variances")
    keep = np.isfinite(truth.log_s0_squared(np.log(data.within), data.kinds, rich))
    rows = np.nonzero(keep)[0]
    return Population(
        within=data.within[rows],
        kinds=[data.kinds[i] for i in rows],
        groups=[data.groups[i] for i in rows],
        log_s0=truth.log_s0_squared(np.log(data.within[rows]), [data.kinds[i] for i in rows], [rich[i] for i in rows]),
        d0=truth.d0,
    )


def noise(rng: np.random.Generator, kind: str, ratios: int, rounds: int) -> np.ndarray:
    """Unit-variance per-round noise of every ratio: normal; Student's t(4) scaled to
    variance 1 (heavy tails: one round in 50 beyond 2.6 SD); or "shared drift", where
    ``SHARED`` of each ratio's variance on average comes from one effect per round that
    every ratio of the run shares, each with its own sign and weight (what a slow spell
    of the machine does to ratios whose sides it slows unequally).  Shared noise is the
    hard case for pooling: the ratios' variances move together, so the run's ratios
    carry fewer independent looks at it than their number."""
    if kind == "normal":
        return rng.standard_normal((ratios, rounds))
    if kind == "t(4)":
        return rng.standard_t(4, (ratios, rounds)) / math.sqrt(2.0)
    load = rng.normal(0.0, math.sqrt(SHARED), ratios)
    return math.sqrt(1 - SHARED) * rng.standard_normal((ratios, rounds)) + load[:, None] * rng.standard_normal(rounds)


def _covered(m: dict[str, np.ndarray]) -> np.ndarray:
    return (m["lo"] <= 1.0) & (m["hi"] >= 1.0)


def one_run(
    pop: Population,
    rng: np.random.Generator,
    law: str,
    kind: str,
    rounds: int,
    stop: bool,
    least: int = stats.MIN_PRIOR_RATIOS,
) -> dict[str, np.ndarray]:
    """One simulated run of every ratio of ``pop``, true ratio 1: per ratio, its true SD,
    and for each method (moderated, Student's t) whether its interval covers 1, its
    half-width and the rounds it had.

    Without ``stop``, every ratio gets ``rounds`` rounds.  With it, the run goes on to
    ``MOST_ROUNDS``, and from round ``rounds`` on a ratio closes at the first round whose
    interval is within ±``TARGET`` (each method by its own intervals): it keeps that
    interval, and its data stay in later priors as they stood when it closed.
    """
    sigma = pop.sigmas(rng, law)
    total = MOST_ROUNDS if stop else rounds
    a = np.exp(sigma[:, None] * noise(rng, kind, len(sigma), total))
    out = {"sigma": sigma}
    for method in ("moderated", "student"):
        covered, hw, upto = np.zeros(len(sigma), bool), np.full(len(sigma), np.nan), np.full(len(sigma), total)
        for n in range(rounds, total + 1):
            open_ = upto == total
            sa = np.where(np.arange(n) < np.where(open_, n, upto)[:, None], a[:, :n], np.nan)
            sb = np.where(np.isnan(sa), np.nan, 1.0)
            if method == "moderated":
                prior = stats.fit_prior(sa, sb, pop.within, pop.kinds, pop.groups, least=least)
                m = stats.moderated_matrix(sa, sb, pop.within, pop.kinds, pop.groups, prior)
            else:
                m = stats.ratio_matrix(sa, sb)
            now = open_ & ((m["half_width"] <= TARGET) | (n == total))
            covered[now], hw[now], upto[now] = _covered(m)[now], m["half_width"][now], n
            if n < total and not (upto == total).any():
                break
        out.update({method + "_covered": covered, method + "_hw": hw, method + "_n": upto})
    return out


def coverage(pop: Population, runs: int, law: str, kind: str, rounds: int, stop: bool, seed: int) -> dict[str, float]:
    """Coverage over ``runs`` simulated runs, for the moderated interval and for Student's
    t: overall, in the noisiest tenth of each run's ratios (by true SD), and among the
    ratios that closed before the last round (``_early``: their share and coverage);
    median half-widths."""
    rng = np.random.default_rng([seed, rounds, int(stop), LAWS.index(law), NOISES.index(kind)])
    got = [one_run(pop, rng, law, kind, rounds, stop) for _ in range(runs)]
    top = np.concatenate([g["sigma"] >= np.quantile(g["sigma"], 0.9) for g in got])
    total = MOST_ROUNDS if stop else rounds
    out = {}
    for method in ("moderated", "student"):
        covered = np.concatenate([g[method + "_covered"] for g in got])
        early = np.concatenate([g[method + "_n"] < total for g in got])
        out[method] = float(covered.mean())
        out[method + "_noisiest"] = float(covered[top].mean())
        out[method + "_early"] = float(early.mean())
        out[method + "_early_covered"] = float(covered[early].mean()) if early.any() else math.nan
        out[method + "_hw"] = float(np.median(np.concatenate([g[method + "_hw"] for g in got])))
    return out


def settings() -> Iterator[tuple[str, str, bool, int]]:
    for law in LAWS:
        for stop in (False, True):
            for kind in NOISES:
                for rounds in ROUNDS:
                    yield law, kind, stop, rounds


def _setting(args: tuple[Population, int, str, str, bool, int, int]) -> dict[str, Any]:
    pop, runs, law, kind, stop, rounds, seed = args
    return {
        "law": law,
        "noise": kind,
        "stop": stop,
        "rounds": rounds,
        **coverage(pop, runs, law, kind, rounds, stop, seed),
    }


def simulate(pop: Population, runs: int, jobs: int = 1, seed: int = 1) -> list[dict[str, Any]]:
    """Every setting's coverage (``settings``), in ``jobs`` processes: each setting seeds
    its own generator, so the figures do not depend on how many."""
    work = [(pop, runs, law, kind, stop, rounds, seed) for law, kind, stop, rounds in settings()]
    if jobs == 1:
        return [_setting(w) for w in work]
    with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(_setting, work))


def prior_sizes(pop: Population, runs: int, rounds: int = 3, seed: int = 2) -> list[dict[str, Any]]:
    """Coverage when the prior is fitted on only ``size`` ratios (drawn from the run's at
    random for each simulated run), normal noise, lognormal variances: where the
    fallback to Student's t should start.  Each size simulates as many ratios in all as
    ``runs`` runs of the whole population, so that its noisiest tenth is as large."""
    rng = np.random.default_rng([seed, rounds])
    out = []
    for size in SIZES:
        size = min(size, len(pop.kinds))
        covered, top, wide, narrow = [], [], [], []
        for _ in range(math.ceil(runs * len(pop.kinds) / size)):
            part = pop.subset(rng.choice(len(pop.kinds), size=size, replace=False))
            got = one_run(part, rng, "lognormal", "normal", rounds, False, least=1)
            covered.append(got["moderated_covered"])
            top.append(got["moderated_covered"][got["sigma"] >= np.quantile(got["sigma"], 0.9)])
            wide.append(got["student_hw"])
            narrow.append(got["moderated_hw"])
        out.append(
            {
                "ratios": size,
                "moderated": float(np.concatenate(covered).mean()),
                "moderated_noisiest": float(np.concatenate(top).mean()),
                "student_hw": float(np.median(np.concatenate(wide))),
                "moderated_hw": float(np.median(np.concatenate(narrow))),
            }
        )
    return out


def _share(x: float) -> str:
    return "-" if not math.isfinite(x) else "%.1f%%" % (100 * x)


def table(rows: list[dict[str, Any]], runs: int, ratios: int) -> list[str]:
    """The coverage table: per method, coverage overall and in the noisiest tenth, the
    share of ratios that closed early (with stopping) and their coverage, the median width."""
    lines = [
        "simulated coverage of 95%% intervals, %d runs of %d ratios per row; noisiest: the tenth of each run's"
        " ratios with the largest true SD; stop: each ratio closes at the first round from `rounds` on whose"
        " interval is within ±%d%% (else at %d rounds); early: the share that closed before that, and their"
        " coverage" % (runs, ratios, round(100 * TARGET), MOST_ROUNDS),
        "%-36s | %-36s | %s" % ("", "moderated", "Student's t"),
        "%-13s %-13s %-4s %3s | %6s %8s %6s %5s %7s | %6s %8s %6s %5s %7s"
        % ("variances", "noise", "stop", "n", *("all", "noisiest", "early", "cover", "median") * 2),
    ]
    for r in rows:
        cells = []
        for m in ("moderated", "student"):
            early = r["stop"] and r[m + "_early"] > 0
            cells += [
                _share(r[m]),
                _share(r[m + "_noisiest"]),
                _share(r[m + "_early"]) if r["stop"] else "",
                _share(r[m + "_early_covered"]) if early else "",
                _pct(r[m + "_hw"]),
            ]
        lines.append(
            "%-13s %-13s %-4s %3d | %6s %8s %6s %5s %7s | %6s %8s %6s %5s %7s"
            % (r["law"], r["noise"], "yes" if r["stop"] else "no", r["rounds"], *cells)
        )
    return lines


def sizes_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["prior fitted on fewer ratios (3 rounds, normal noise, lognormal variances):"]
    lines.append("%8s %10s %9s %10s %8s" % ("ratios", "moderated", "noisiest", "median", "t median"))
    for r in rows:
        lines.append(
            "%8d %10s %9s %10s %8s"
            % (
                r["ratios"],
                _share(r["moderated"]),
                _share(r["moderated_noisiest"]),
                _pct(r["moderated_hw"]),
                _pct(r["student_hw"]),
            )
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="results/<run-id>, or a published run's raw folder")
    parser.add_argument("--simulate", type=int, default=0, metavar="N", help="also simulate N runs per setting")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="simulate in N processes (default 1)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every figure into this JSON file")
    args = parser.parse_args(argv)
    if args.simulate < 0 or args.jobs < 1:
        print("error: --simulate must be 0 or more and --jobs 1 or more", file=sys.stderr)
        return 2
    try:
        data = collect.load_runs([args.run])
        result = analysis.analyse(data.benchmarks, data.envs, data.capacity, moderate=False)  # as published
        got = ratios(data.benchmarks, result)
    except ResultsError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    if not len(got.labels):
        print("error: %s: no headline ratios" % args.run, file=sys.stderr)
        return 2
    figures = reanalyse(got)
    print("\n".join(report(str(args.run), figures)))
    if args.simulate:
        pop = population(got)
        figures["simulation"] = {"runs": args.simulate, "ratios": len(pop.kinds), "truth_d0": pop.d0}
        figures["simulation"]["rows"] = rows = simulate(pop, args.simulate, args.jobs)
        print("\n".join([""] + table(rows, args.simulate, len(pop.kinds))))
        figures["simulation"]["sizes"] = sizes = prior_sizes(pop, args.simulate)
        print("\n".join([""] + sizes_table(sizes)))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
