"""Ratios and quantiles with 95% intervals, analysed the way the runs are measured.

Why this module exists.  Benchmarks run in ROUNDS (randomised blocks): in round r every
benchmark of every interpreter gets one fresh pyperf process, in shuffled order, and the
round's value is the mean of that process's timing values.  On the shared 2-core machines
we measure on, whole rounds run slow or fast together (another tenant, thermal or
frequency changes): that block effect is often larger than the difference we want to
see.  A ratio A/B of two benchmarks measured in the same rounds is therefore analysed AS
PAIRS: ``d_r = log A_r - log B_r`` cancels whatever multiplied both sides of round r, and
the interval is Student's t on the n rounds::

    exp(mean d ± t(0.975, n - 1) · sd(d) / sqrt(n))

When the rounds do not correspond (two separate runs), the fallback is Welch's t on the
per-round log values of each side, with Welch–Satterthwaite degrees of freedom.

Why logs: timings are positive and their noise is multiplicative (a slow spell makes
everything x% slower), so the log scale makes it roughly symmetric and additive, and the
interval for a ratio is the exponential of an interval for a difference; it is never
negative and ``1/ratio`` has exactly the reciprocal interval.  The point estimate is the
ratio of geometric means of the round values.

Why Student's t on rounds rather than a bootstrap: rounds are the independent units; with
3-12 of them a bootstrap cannot see the tails and is too narrow, while t on n - 1 degrees
of freedom is exact for normal log differences and, as ``tests/unit/test_stats.py``
measures by simulation, close to 95% under this machine's noise.

The moderated interval (``fit_prior``, ``moderated_matrix``) is for a run's many
ratios at once.  With 3-4 rounds, t multiplies by 4.30 or 3.18 and each ratio's variance
rests on 2-3 degrees of freedom, while the run holds hundreds of ratios whose variances
follow a few things: a ratio's per-round spread is mostly its values' spread inside
their processes (which pyperf measured on many more values), its kind and its workload.
So each ratio's variance is shrunk toward a trend in those, fitted across the run
(empirical Bayes, Smyth 2004, as limma does for genes): the posterior variance
``(d0 · s0² + d · s²) / (d0 + d)`` with t on ``d0 + d`` degrees of freedom.  Each
ratio's log ratios stay paired within their rounds; only the variance is pooled.  Its
coverage, overall and in the noisiest tenth of ratios, is measured by simulation of the
example run's ratios in ``tools/moderated.py`` (docs/how-sure.md).

``quantile_interval`` is distribution-free: the interval between two order statistics
whose ranks come from the binomial distribution, valid for any continuous distribution
(latencies are skewed and heavy-tailed, so no normal approximation is used).

Everything here uses numpy and scipy only, and is pure: the same input gives the same
numbers, with no random seeds involved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import optimize as _optimize
from scipy import special as _special
from scipy import stats as _sps

CONFIDENCE = 0.95  # the level of every ratio interval; t975 is its two-sided quantile
# ``ratio`` pairs when the common rounds are at least this share of the smaller side's rounds.
MIN_PAIRED_SHARE = 0.5
# A precision-targeted run closes no benchmark before this many rounds.  Stopping as soon
# as an interval is narrow enough favours rounds that happen to agree, unless the interval
# does not take a few agreeing rounds at their word.  The moderated interval does not:
# stopping at ±3% from round 3 on kept 94.5-95.4% overall and 93.4-94.7% in the noisiest
# tenth of ratios (the ratios that closed early 94.2-95.5%) in ``tools/moderated.py``'s
# simulation of the example run's ratios, so a ratio with a moderated interval may close
# from round 3.  Student's t may not: stopping from round 3 on covered 91-92% in simulated
# runs with this machine's noise, from round 10 on 93.6-95.0% (``tests/unit/test_stats.py``),
# so a ratio that falls back to it (too few ratios for a prior, no within-process spread)
# closes from round ``STUDENT_LEAST_ROUNDS_TO_STOP``.
LEAST_ROUNDS_TO_STOP = 3
STUDENT_LEAST_ROUNDS_TO_STOP = 10


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% interval.

    ``n`` is the number of units behind it: common rounds for a paired ratio, the smaller
    side's rounds for an unpaired one, values for a quantile.  ``lo``/``hi`` are NaN when
    the data cannot support an interval (too few rounds or values); ``value`` may still
    be a number then, so a table can show it, flagged as having no interval.
    """

    value: float
    lo: float
    hi: float
    n: int
    paired: bool

    @property
    def significant(self) -> bool:
        """True when the interval excludes 1: a real difference rather than noise.

        False when there is no interval (NaN bounds): without one nothing can be claimed.
        Meaningful for ratios only; for a quantile it merely compares with 1.0.
        """
        return bool(self.lo > 1.0 or self.hi < 1.0)

    @property
    def half_width(self) -> float:
        """Relative half-width in the log scale, as a fraction: ``sqrt(hi/lo) - 1``.

        For a ratio interval ``value · exp(±h)`` this is ``exp(h) - 1``, e.g. 0.05 for
        "±5%", which is what a reader wants to compare across ratios of any size.  NaN
        when the bounds are missing or not both positive (no log scale to speak of).
        """
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)) or self.lo <= 0.0 or self.hi <= 0.0:
            return math.nan
        return math.sqrt(self.hi / self.lo) - 1.0


def t975(df: float | np.ndarray) -> float | np.ndarray:
    """Student's t quantile at 0.975 (two-sided 95%) for degrees of freedom ``df``.

    Vectorised over ``df``, fractional degrees of freedom allowed (Welch), ``inf`` gives
    the normal 1.95996.  NaN where ``df`` is NaN or not positive, so callers can pass the
    degrees of freedom of degenerate cases and get NaN bounds without special-casing.
    Replaces analysis.py's hand-made table, which interpolated in 1/df.
    """
    arr = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        out = _sps.t.ppf(0.5 + CONFIDENCE / 2.0, np.where(arr > 0, arr, np.nan))
    return float(out) if np.ndim(out) == 0 else out


def _check_times(name: str, values: np.ndarray) -> None:
    """Raise unless every non-NaN value is a positive finite time.

    NaN means "no value for this round" and is allowed; zero, negative or infinite times
    are bugs upstream, and taking their log would silently poison a whole report.
    """
    present = ~np.isnan(values)
    bad = present & ~(np.isfinite(values) & (values > 0))
    if bad.any():
        raise ValueError(
            f"{name}: round means must be positive finite times (or NaN for missing), got {values[bad][:3]}"
        )


def _rounds(name: str, side: Mapping[int, float]) -> dict[int, float]:
    """The rounds of one side that have a value, as floats (NaN counts as missing)."""
    out = {int(r): float(v) for r, v in side.items()}
    _check_times(name, np.fromiter(out.values(), dtype=float, count=len(out)))
    return {r: v for r, v in out.items() if not math.isnan(v)}


def _interval(value: float, centre: float, half: float, n: int, paired: bool) -> Interval:
    """``exp(centre ± half)`` as an Interval; NaN ``half`` gives NaN bounds."""
    if math.isnan(half):
        return Interval(value, math.nan, math.nan, n, paired)
    return Interval(value, math.exp(centre - half), math.exp(centre + half), n, paired)


def paired_ratio(a: Mapping[int, float], b: Mapping[int, float]) -> Interval:
    """Ratio A/B analysed as pairs over the rounds present in both.

    ``a`` and ``b`` map round index -> that round's mean time (seconds, > 0).  The per-round
    log ratio removes the round's block effect (whatever slowed both sides of that round),
    which is why pairing gives much narrower intervals than comparing the two sides' spreads.
    With one common round the value is that round's ratio and the bounds are NaN (no
    spread to estimate); with none everything is NaN.  Rounds present on one side only are
    ignored: see ``ratio`` for why that does not bias the estimate.
    """
    ra, rb = _rounds("a", a), _rounds("b", b)
    common = sorted(ra.keys() & rb.keys())
    n = len(common)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, True)
    d = np.log([ra[r] for r in common]) - np.log([rb[r] for r in common])
    centre = float(d.mean())
    if n < 2:
        return Interval(math.exp(centre), math.nan, math.nan, n, True)
    half = float(t975(n - 1)) * float(d.std(ddof=1)) / math.sqrt(n)
    return _interval(math.exp(centre), centre, half, n, True)


def mean_interval(values: Sequence[float]) -> Interval:
    """The mean of ``values`` (one per round, independent) with Student's *t* 95% interval.

    For a quantity measured once per round, such as bytes per object; NaN bounds with
    fewer than two values, everything NaN with none.
    """
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, False)
    mean = float(x.mean())
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, False)
    half = float(t975(n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n, False)


def welch_df(
    var_a: float | np.ndarray, n_a: int | np.ndarray, var_b: float | np.ndarray, n_b: int | np.ndarray
) -> float | np.ndarray:
    """Welch–Satterthwaite degrees of freedom for a difference of two means.

    ``var_*`` are sample variances (ddof=1), ``n_*`` the sample sizes.  NaN when both
    variances are zero (no spread: the interval is then a point anyway).
    """
    va = np.asarray(var_a, dtype=float) / np.asarray(n_a, dtype=float)
    vb = np.asarray(var_b, dtype=float) / np.asarray(n_b, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = (va + vb) ** 2 / (va**2 / (np.asarray(n_a) - 1.0) + vb**2 / (np.asarray(n_b) - 1.0))
    return float(df) if np.ndim(df) == 0 else df


def unpaired_ratio(a: Mapping[int, float], b: Mapping[int, float]) -> Interval:
    """Ratio A/B when the rounds do not correspond: Welch's t on the log round values.

    For two separate runs, round 3 of one has nothing to do with round 3 of the other, so
    there is no block effect to cancel; each side's spread (block effects included) goes
    into the interval.  Welch rather than pooled: the two sides (e.g. serial and 8 threads)
    routinely differ in spread.  Needs at least 2 rounds on each side for bounds; ``n`` is
    the smaller side's round count (the one that limits the precision).  Round indices are
    ignored, so ``a`` and ``b`` may also be plain lists turned into dicts by the caller.
    """
    xa = np.log(np.fromiter(_rounds("a", a).values(), dtype=float))
    xb = np.log(np.fromiter(_rounds("b", b).values(), dtype=float))
    na, nb = len(xa), len(xb)
    n = min(na, nb)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, False)
    centre = float(xa.mean() - xb.mean())
    if n < 2:
        return Interval(math.exp(centre), math.nan, math.nan, n, False)
    var_a, var_b = float(xa.var(ddof=1)), float(xb.var(ddof=1))
    se = math.sqrt(var_a / na + var_b / nb)
    half = 0.0 if se == 0.0 else float(t975(welch_df(var_a, na, var_b, nb))) * se
    return _interval(math.exp(centre), centre, half, n, False)


def ratio(a: Mapping[int, float], b: Mapping[int, float]) -> Interval:
    """Ratio A/B, paired when the rounds correspond well enough, else unpaired.

    Rule: paired when there are at least 2 common rounds and they are at least
    ``MIN_PAIRED_SHARE`` (half) of the smaller side's rounds; otherwise Welch.

    Why dropping unmatched rounds is fine: a round is a randomised block, and within one
    run a benchmark lacks a round only because it was partial or interrupted, which has
    nothing to do with how that round's pair came out.  The common rounds are then as good
    a sample as all of them; dropping the rest costs a little precision, while pairing
    removes the block effect, which on shared machines is usually the largest noise.

    Why the "half" threshold: few common rounds out of many means the indices probably
    do not correspond (or most of the data would be thrown away, and t on 1-2 degrees of
    freedom is very wide), so Welch on everything is the better use of the data.  The
    choice looks only at which rounds exist, never at the values, so it cannot pick the
    narrower interval after the fact (which would under-cover).

    Caution: this cannot know whether two mappings come from the same run.  Indices from
    two separate runs (both 0..n-1) would be paired; that is still valid (the log
    differences are then independent, and their spread includes both sides' block
    effects) but has n - 1 instead of about 2n - 2 degrees of freedom.  Callers comparing
    separate runs should call ``unpaired_ratio`` directly.
    """
    ra, rb = _rounds("a", a), _rounds("b", b)
    n_common = len(ra.keys() & rb.keys())
    if n_common >= 2 and n_common >= MIN_PAIRED_SHARE * min(len(ra), len(rb)):
        return paired_ratio(ra, rb)
    return unpaired_ratio(ra, rb)


def _paired_logs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of two (pairs x rounds) arrays of round means: the rounds paired (``n``),
    the mean log ratio over them (``centre``, NaN where n == 0) and the sum of squared
    deviations of the log ratios from it (``ss``).  Checks shapes and times."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"a and b must be 2-D arrays of the same shape (pairs x rounds), got {a.shape} and {b.shape}")
    _check_times("a", a)
    _check_times("b", b)
    both = ~np.isnan(a) & ~np.isnan(b)
    n = both.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(both, np.log(np.where(both, a, 1.0)) - np.log(np.where(both, b, 1.0)), 0.0)
        centre = d.sum(axis=1) / n  # NaN where n == 0
        dev = np.where(both, d - centre[:, None], 0.0)
    return n, centre, (dev**2).sum(axis=1)


def _intervals(centre: np.ndarray, half: np.ndarray, n: np.ndarray) -> dict[str, np.ndarray]:
    """``exp(centre ± half)`` row by row as ``ratio_matrix`` returns it (NaN ``half``: no bounds)."""
    with np.errstate(invalid="ignore", over="ignore"):
        lo = np.exp(centre - half)
        hi = np.exp(centre + half)
        return {
            "value": np.exp(centre),
            "lo": lo,
            "hi": hi,
            "n": n.astype(int),
            "half_width": np.expm1(half),
            "significant": (lo > 1.0) | (hi < 1.0),
        }


def ratio_matrix(a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """Many paired ratios at once: row i is the ratio a[i]/b[i] over its rounds.

    ``a`` and ``b`` are (pairs x rounds) arrays of round means, NaN where a round is
    missing; row i is paired on the rounds where both ``a[i]`` and ``b[i]`` are present.
    Same numbers as ``paired_ratio`` row by row, without a Python loop: the report
    computes ~10,000 ratios and a per-ratio scipy call would dominate its run time.

    Returns arrays of length ``pairs``: ``value``, ``lo``, ``hi``, ``half_width`` (float,
    NaN where undefined, as in ``Interval``), ``n`` (int, common rounds) and
    ``significant`` (bool, interval excludes 1).
    """
    n, centre, ss = _paired_logs(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(ss / (n - 1))  # NaN/inf where n < 2, masked below
        half = np.asarray(t975(n - 1.0)) * sd / np.sqrt(n)
    return _intervals(centre, np.where(n >= 2, half, np.nan), n)


# ---------------------------------------------------------------- the moderated interval

# The prior's covariates, as a ``Prior`` names them: the log of the within-process
# variance of a ratio's per-round log ratio (``within_variance``), a level per kind of
# ratio, and a shrunken level per group (its workload).
LOG_WITHIN, KIND, GROUP = "log within", "kind", "group"
# The least number of ratios a prior is fitted on; fewer, and every ratio keeps its own
# Student's t.  A prior fitted on a random 10, 20, 30, 40 or 60 of the example run's
# ratios covered 92.3%, 92.8%, 93.5%, 94.0% and 94.3% at 3 rounds in simulation (the
# prior's own error is not in the interval), all 500 ratios 94.9% (``tools/moderated.py``).
MIN_PRIOR_RATIOS = 40
# A kind of ratio with fewer fitted ratios than this gets no level of its own: its
# ratios keep Student's t and stay out of the fit.
MIN_KIND_RATIOS = 3
# Shrinkage of the group levels, as the ratio of a group level's noise to its spread:
# the one whose leave-one-out prediction of a ratio's log variance is best is chosen.
_GROUP_PENALTIES = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, math.inf)
_D0_RANGE = (0.01, 1e4)  # where the likelihood of d0 is searched
# A ratio whose own variance is this improbable under the prior gets a weaker prior
# (``robust_d0``); chosen by simulation (``tools/moderated.py``).
ROBUST_LEVEL = 0.1


@dataclass(frozen=True)
class Prior:
    """The scaled-inverse-χ² prior of a run's per-ratio variances (Smyth 2004).

    A ratio's per-round log-ratio variance σ² is taken to be ``s0² · d0 / χ²(d0)``, with
    ``log s0²`` a trend in the ratio's covariates: ``coefficients[LOG_WITHIN]`` times the
    log of its within-process variance (``within_variance``), plus ``coefficients["kind:K"]``
    for its kind K, plus ``coefficients["group:G"]`` for its group G (0 for a group the fit
    did not see).  ``d0`` is how many rounds' worth of evidence the trend is (``inf``: every
    variance on the trend).  ``ratios`` is how many ratios it was fitted on; ``covariates``
    which of ``LOG_WITHIN``, ``KIND``, ``GROUP`` the trend uses.
    """

    d0: float
    coefficients: Mapping[str, float]
    ratios: int
    covariates: tuple[str, ...]

    def log_s0_squared(self, log_within: np.ndarray, kinds: Sequence[str], groups: Sequence[str] | None) -> np.ndarray:
        """The trend's ``log s0²`` per ratio; NaN for a kind the prior has no level for."""
        level = np.array([self.coefficients.get("kind:%s" % k, math.nan) for k in kinds], dtype=float)
        if GROUP in self.covariates and groups is not None:
            level += np.array([self.coefficients.get("group:%s" % g, 0.0) for g in groups], dtype=float)
        return level + self.coefficients[LOG_WITHIN] * np.asarray(log_within, dtype=float)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (``d0`` = null for an infinite d0)."""
        return {
            "d0": None if math.isinf(self.d0) else self.d0,
            "coefficients": dict(self.coefficients),
            "ratios": self.ratios,
            "covariates": list(self.covariates),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Prior:
        d0 = data["d0"]
        return cls(
            d0=math.inf if d0 is None else float(d0),
            coefficients={str(k): float(v) for k, v in data["coefficients"].items()},
            ratios=int(data["ratios"]),
            covariates=tuple(data["covariates"]),
        )


def within_variance(a: np.ndarray, b: np.ndarray, within_a: np.ndarray, within_b: np.ndarray) -> np.ndarray:
    """Per ratio, what its two sides' own processes say the variance of its per-round log
    ratio is: the mean over its paired rounds of ``within_a² + within_b²``.

    ``within_*`` are (pairs x rounds) arrays like ``a`` and ``b``, holding each round's
    standard error of the log round value as its process saw it
    (``harness.collect.WITHIN``); NaN where a round has none.  Rounds paired but lacking
    either side's standard error are left out; NaN where none is left.  Why this
    covariate: a ratio's spread between rounds is mostly its values' spread inside
    their processes, and the latter is measured on many more values than there are rounds.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    wa, wb = np.asarray(within_a, dtype=float), np.asarray(within_b, dtype=float)
    if not a.shape == b.shape == wa.shape == wb.shape:
        raise ValueError(
            "a, b, within_a and within_b must have one shape, got %s" % ((a.shape, b.shape, wa.shape, wb.shape),)
        )
    var = wa**2 + wb**2
    use = ~np.isnan(a) & ~np.isnan(b) & np.isfinite(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(use, var, 0.0).sum(axis=1) / use.sum(axis=1)


def _labels(values: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The distinct labels, sorted, and each value's index among them."""
    names = sorted(set(values))
    index = {name: i for i, name in enumerate(names)}
    return names, np.array([index[v] for v in values], dtype=int)


def _best_trend(e: np.ndarray, fixed: np.ndarray, groups: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, float]:
    """Least squares of ``e`` on the ``fixed`` columns plus, where ``groups`` (dummies) are
    given, one level per group penalised toward 0 (ridge: a random effect whose
    noise-to-spread ratio is the penalty), for each penalty of ``_GROUP_PENALTIES``; the
    one whose leave-one-out residuals ``(e - fit) / (1 - leverage)`` are smallest wins.
    Returns its coefficients, those residuals and the penalty (``inf``: no group levels)."""
    design = fixed if groups is None else np.hstack([fixed, groups])
    gram = np.einsum("ij,ik->jk", design, design)  # not BLAS: its threads crawl on a busy 2-CPU machine
    moment = design.T @ e
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    for penalty in _GROUP_PENALTIES if groups is not None else (math.inf,):
        used = fixed.shape[1] if math.isinf(penalty) else design.shape[1]
        ridge = gram[:used, :used] + np.diag([0.0] * fixed.shape[1] + [penalty] * (used - fixed.shape[1]))
        try:
            inverse = np.linalg.inv(ridge)
        except np.linalg.LinAlgError:  # a covariate that repeats a kind's level: least squares all the same
            inverse = np.linalg.pinv(ridge)
        coef = inverse @ moment[:used]
        leverage = ((design[:, :used] @ inverse) * design[:, :used]).sum(axis=1)
        residuals = (e - design[:, :used] @ coef) / (1.0 - np.minimum(leverage, 0.99))
        if best is None or np.mean(residuals**2) < np.mean(best[1] ** 2):
            best = (coef, residuals, penalty)
    assert best is not None
    return best


def fit_prior(
    a: np.ndarray,
    b: np.ndarray,
    within: np.ndarray,
    kinds: Sequence[str],
    groups: Sequence[str] | None = None,
    *,
    least: int = MIN_PRIOR_RATIOS,
) -> Prior | None:
    """The prior of these ratios' variances (``Prior``), or None when fewer than ``least``
    can be fitted: the moderated interval then falls back to Student's t.

    ``a`` and ``b`` as for ``ratio_matrix``; ``within`` per ratio (``within_variance``),
    ``kinds`` and ``groups`` labels per ratio (``groups`` optional).  Only ratios with at
    least 2 paired rounds, a positive sample variance, a positive finite ``within`` and a kind with
    ``MIN_KIND_RATIOS`` such ratios are fitted.

    How, and why so.  The trend is limma's (``fitFDist`` with a covariate trend, Smyth
    2004): with ``d = n - 1`` degrees of freedom, ``log s²`` is ``log σ²`` plus
    ``log(χ²_d / d)``, whose mean ``ψ(d/2) - log(d/2)`` is known, so
    ``e = log s² - ψ(d/2) + log(d/2)`` has mean ``log σ²`` whatever d.  The trend is
    least squares of ``e`` on ``log within`` and one level per kind, plus one level per
    group shrunk toward 0 (a random effect; the shrinkage is the one whose leave-one-out
    prediction is best).

    ``d0`` is then the maximum-likelihood value for ``s² / s0² ~ F(d, d0)``, with each
    ratio's ``s0²`` from the trend fitted WITHOUT it (leave-one-out), so that the trend's
    own error counts as prior uncertainty, not as knowledge.  Not limma's moment match of
    the spread of ``e`` against ``ψ'(d0/2)``: at 3 rounds (``d = 2``) the spread of ``e``
    is mostly the sampling noise ``ψ'(1) = 1.64``, and the difference that gives ``d0``
    is so noisy that in simulated runs of the example run's ratios it ranged from 4 to 39
    (5-95%), and was infinite in some (every variance on the trend: intervals far too
    narrow); the likelihood of F, which a variance near zero cannot dominate as its log
    does, gave 6-13 on the same runs (``tools/moderated.py``).  ``log s0²`` is the trend
    less ``ψ(d0/2) - log(d0/2)``, by which the mean log of ``χ²_d0 / d0`` lies below 0.
    """
    n, _, ss = _paired_logs(a, b)
    df = n - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = ss / df
    w = np.asarray(within, dtype=float)
    x = np.log(np.where(w > 0, w, np.nan))
    kinds = list(kinds)
    use = (n >= 2) & (s2 > 0) & np.isfinite(s2) & np.isfinite(x)
    counts = {k: int(np.sum(use[[i for i, kk in enumerate(kinds) if kk == k]])) for k in set(kinds)}
    use &= np.array([counts[k] >= MIN_KIND_RATIOS for k in kinds], dtype=bool)
    if int(use.sum()) < max(least, 2):
        return None
    idx = np.nonzero(use)[0]
    d = df[idx]
    e = np.log(s2[idx]) - _special.digamma(d / 2) + np.log(d / 2)
    kind_names, kind_of = _labels([kinds[i] for i in idx])
    fixed = np.hstack([x[idx, None], np.eye(len(kind_names))[kind_of]])
    group_names: list[str] = []
    dummies = None
    if groups is not None:
        group_names, group_of = _labels([groups[i] for i in idx])
        dummies = np.eye(len(group_names))[group_of]
    coef, residuals, penalty = _best_trend(e, fixed, dummies)
    d0 = _likeliest_d0(s2[idx], d, e - residuals)
    shift = float(_special.digamma(d0 / 2) - math.log(d0 / 2))
    coefficients = {LOG_WITHIN: float(coef[0])}
    coefficients.update({"kind:%s" % k: float(c) + shift for k, c in zip(kind_names, coef[1 : 1 + len(kind_names)])})
    grouped = dummies is not None and not math.isinf(penalty)
    if grouped:
        coefficients.update({"group:%s" % g: float(c) for g, c in zip(group_names, coef[1 + len(kind_names) :])})
    return Prior(d0, coefficients, len(idx), (LOG_WITHIN, KIND, GROUP) if grouped else (LOG_WITHIN, KIND))


def _likeliest_d0(s2: np.ndarray, df: np.ndarray, trend: np.ndarray) -> float:
    """The d0 that maximises the likelihood of ``s2 / s0² ~ F(df, d0)``, where
    ``log s0² = trend + ψ(d0/2) - log(d0/2)`` (``trend`` estimates the mean of log σ²),
    between ``_D0_RANGE``'s bounds (the upper one stands for "as good as known")."""

    def minus_log_likelihood(log_d0: float) -> float:
        d0 = math.exp(log_d0)
        log_s0 = trend + float(_special.digamma(d0 / 2)) - math.log(d0 / 2)
        return -float(np.sum(_f_logpdf(s2 * np.exp(-log_s0), df, d0) - log_s0))

    bounds = (math.log(_D0_RANGE[0]), math.log(_D0_RANGE[1]))
    best = _optimize.minimize_scalar(minus_log_likelihood, bounds=bounds, method="bounded", options={"xatol": 1e-6})
    return math.exp(float(best.x))


def _surprise(f: np.ndarray, df: np.ndarray, d0: np.ndarray) -> np.ndarray:
    """P(F(df, d0) >= f): how surprising a variance ratio ``f = s² / s0²`` is under the
    prior (``d0`` may be infinite: F is then χ²_df / df)."""
    d0 = np.broadcast_to(np.asarray(d0, dtype=float), np.shape(f))
    with np.errstate(invalid="ignore"):
        return np.where(
            np.isinf(d0), _special.chdtrc(df, f * df), _special.fdtrc(df, np.where(np.isinf(d0), 1.0, d0), f)
        )


def _f_logpdf(x: np.ndarray, d1: np.ndarray, d2: float) -> np.ndarray:
    """log density of F(d1, d2) at x > 0 (what ``scipy.stats.f.logpdf`` gives, without its
    per-call overhead: the likelihood of d0 asks for it a few dozen times per fit)."""
    return (
        d1 / 2 * np.log(d1 / d2)
        + (d1 / 2 - 1) * np.log(x)
        - (d1 + d2) / 2 * np.log1p(d1 * x / d2)
        - _special.betaln(d1 / 2, d2 / 2)
    )


def robust_d0(f: np.ndarray, df: np.ndarray, d0: float, level: float | None = None) -> np.ndarray:
    """Per ratio, the prior degrees of freedom it gets: ``d0``, or less for a ratio whose
    own variance the prior finds implausible: where ``P(F(df, d0) >= f) < level``, the
    largest d0' with ``P(F(df, d0') >= f) >= level`` (fewer prior degrees of freedom
    make F's tail heavier), found by bisection.  ``f = s² / s0²``; NaN stays NaN.

    Why: an empirical-Bayes interval is calibrated on average over the ratios, but a
    ratio much noisier than its trend says is pulled toward the trend and covered less
    often: in simulations of the example run's ratios, the noisiest tenth covered down to
    89.3% at 3 rounds without this, at least 91% with it (``tools/moderated.py``).  Its own variance
    is the evidence: when the prior calls it a surprise at ``level``, the prior is
    weakened for that ratio just enough not to, so it leans on its own spread (as
    limma's robust hyperparameters do for outlying genes, more simply).
    """
    level = ROBUST_LEVEL if level is None else level
    f = np.asarray(f, dtype=float)
    df = np.asarray(df, dtype=float)
    out = np.full(f.shape, float(d0))
    odd = _surprise(f, df, out) < level
    if not odd.any():
        return out
    lo, hi = np.full(int(odd.sum()), _D0_RANGE[0]), np.full(int(odd.sum()), min(float(d0), _D0_RANGE[1]))
    for _ in range(40):  # bisection in log d0: 2^-40 of the range is far below what matters
        mid = np.sqrt(lo * hi)
        ok = _surprise(f[odd], df[odd], mid) >= level
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    out[odd] = lo
    return out


def moderated_matrix(
    a: np.ndarray,
    b: np.ndarray,
    within: np.ndarray,
    kinds: Sequence[str],
    groups: Sequence[str] | None,
    prior: Prior | None,
) -> dict[str, np.ndarray]:
    """Many paired ratios at once with the moderated interval: ``ratio_matrix``'s dict
    plus ``df`` (degrees of freedom), ``sd`` (the per-round SD of the log ratio the
    interval uses) and ``moderated`` (bool: False where the ratio fell back to Student's t).

    Each ratio's per-round log ratios stay paired within their rounds; only its variance
    borrows from the others.  With ``s²`` its sample variance on ``d = n - 1`` degrees
    of freedom, ``s0²`` the prior's trend for its covariates and ``d0'`` the prior's
    degrees of freedom for it (``robust_d0``: ``d0`` unless its ``s²`` is implausibly far
    above the trend), the posterior variance is ``(d0' · s0² + d · s²) / (d0' + d)`` and
    the interval ``exp(mean ± t(d0' + d) · sqrt(posterior / n))``: the prior counts as
    ``d0'`` more rounds of spread.  A ratio falls back to Student's t (``ratio_matrix``)
    without a prior, a positive finite ``within`` or a kind the prior has a level for;
    fewer than 2 rounds give no interval either way, as for t.
    """
    n, centre, ss = _paired_logs(a, b)
    df = n - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = np.where(n >= 2, ss / df, np.nan)
        s0_squared = np.full(len(n), np.nan)
        if prior is not None:
            w = np.asarray(within, dtype=float)
            s0_squared = np.exp(prior.log_s0_squared(np.log(np.where(w > 0, w, np.nan)), list(kinds), groups))
        moderated = np.isfinite(s0_squared) & (s0_squared > 0) & (n >= 2)
        variance, dof = np.where(n >= 2, s2, np.nan), np.where(n >= 2, df, np.nan)
        if moderated.any():
            own, s0, d = s2[moderated], s0_squared[moderated], df[moderated]
            d0 = robust_d0(own / s0, d, prior.d0)
            variance[moderated] = np.where(np.isinf(d0), s0, (d0 * s0 + d * own) / (d0 + d))
            dof[moderated] = d0 + d
        sd = np.sqrt(variance)
        half = np.asarray(t975(dof)) * sd / np.sqrt(n)
    out = _intervals(centre, half, n)
    out.update({"df": dof, "sd": sd, "moderated": moderated})
    return out


def round_spread(half_width: float, n: int) -> float:
    """The per-round SD of the log ratio behind a paired interval of relative half-width
    ``half_width`` over ``n`` rounds: ``log(1 + hw) · sqrt(n) / t(n-1)`` (NaN for n < 2)."""
    if n < 2 or not math.isfinite(half_width):
        return math.nan
    return math.log1p(half_width) * math.sqrt(n) / float(t975(n - 1.0))


def points_within(spreads: Sequence[float], band: tuple[float, float], rounds: int) -> float:
    """The chance that after ``rounds`` rounds the point estimate of EVERY one of these
    paired ratios lies inside ``band``, when each ratio's truth is 1 and its per-round log
    ratio has SD ``spreads[i]`` (``round_spread``): the product over ratios of
    ``Φ(log hi · √rounds / s) − Φ(log lo · √rounds / s)``.

    Why: a band on the point of many ratios at once (every one-worker ratio of a run
    within [0.95, 1.05]) is a far stricter demand than one interval each, and what it
    costs in rounds follows from the spread the run measured.
    """
    s = np.asarray([x for x in spreads if math.isfinite(x)], dtype=float)
    if rounds < 1 or not len(s):
        return math.nan
    lo, hi = math.log(band[0]), math.log(band[1])
    with np.errstate(divide="ignore"):
        scale = math.sqrt(rounds) / s
    inside = _sps.norm.cdf(hi * scale) - _sps.norm.cdf(lo * scale)
    return float(np.prod(inside))


def rounds_for_points_within(
    spreads: Sequence[float], band: tuple[float, float], probability: float = 0.95, most: int = 10_000
) -> int | None:
    """The least number of rounds after which every point lies inside ``band`` with at
    least ``probability`` (``points_within``), or None beyond ``most`` or without spreads."""
    if not any(math.isfinite(x) for x in spreads):
        return None
    lo, hi = 1, most
    if points_within(spreads, band, hi) < probability:
        return None
    while lo < hi:  # points_within grows with rounds: bisect
        mid = (lo + hi) // 2
        if points_within(spreads, band, mid) >= probability:
            hi = mid
        else:
            lo = mid + 1
    return lo


def half_width_after(sd: float, df: float, n: int, rounds: int | np.ndarray) -> float | np.ndarray:
    """The relative half-width a paired ratio would have after ``rounds`` rounds, if its
    per-round log SD stays ``sd``: ``expm1(t(df + rounds - n) · sd / sqrt(rounds))``.

    ``df`` and ``n`` are its interval's degrees of freedom and rounds now: Student's t has
    ``df = n - 1``; the moderated interval ``d0' + n - 1``, of which the prior's ``d0'``
    stays as the rounds grow.  Vectorised over ``rounds``."""
    m = np.asarray(rounds, dtype=float)
    out = np.expm1(np.asarray(t975(df + m - n)) * sd / np.sqrt(m))
    return float(out) if np.ndim(out) == 0 else out


def rounds_to_target(sd: float, df: float, n: int, target: float, most: int = 10_000) -> int | None:
    """The least number of rounds (at least 2) after which a paired ratio's half-width
    would be within ``target`` (``half_width_after``): what a target would cost.

    Give it the SD the interval used (``moderated_matrix``'s ``sd``, the posterior one,
    pooled with the run's other ratios) and its degrees of freedom: extrapolating from a
    ratio's own 2-degree-of-freedom spread, as the t interval must, swings with that
    spread's noise (its SD is about ±50% of itself at 3 rounds).  None when it cannot be
    said (NaN spread, no degrees of freedom) or exceeds ``most``.
    """
    if not (math.isfinite(sd) and df > 0 and target > 0):
        return None
    m = np.arange(2, most + 1, dtype=float)
    ok = np.nonzero(np.asarray(half_width_after(sd, df, n, m)) <= target)[0]
    return int(m[ok[0]]) if len(ok) else None


def order_statistic_ranks(n: int, q: float, confidence: float = 0.95) -> tuple[int, int] | None:
    """1-based ranks (l, u) with P(X_(l) <= q-quantile <= X_(u)) >= confidence, or None.

    With B ~ Binomial(n, q) the number of values below the true quantile, X_(l) is below
    it iff B >= l and X_(u) is above it iff B <= u - 1, so the coverage is
    ``F(u - 1) - F(l - 1)`` with F the binomial cdf: exact for any continuous distribution,
    conservative for discrete ones.  Tails are split equally (alpha/2 each, the usual
    choice); when one tail cannot reach alpha/2 within the sample (a high quantile from few
    values), that side takes the extreme value and the other side gives up what is needed.
    None when even [min, max] covers less than ``confidence``: 1 - q^n - (1-q)^n < confidence,
    e.g. p99 needs n >= 299 and the median n >= 6 at 95%.
    """
    if n < 1 or not 0.0 < q < 1.0 or not 0.0 < confidence < 1.0:
        return None
    cdf = _sps.binom.cdf(np.arange(n + 1), n, q)  # cdf[k] = P(B <= k)
    eps = 1e-12  # cdf values are rounded; do not lose a valid rank to the last ulp
    if cdf[n - 1] - cdf[0] < confidence - eps:
        return None
    alpha = 1.0 - confidence
    lo_ok = cdf[0] <= alpha / 2 + eps  # some l >= 1 has F(l - 1) <= alpha/2
    hi_ok = cdf[n - 1] >= 1 - alpha / 2 - eps  # some u <= n has F(u - 1) >= 1 - alpha/2
    if lo_ok and hi_ok:
        l_rank = int(np.searchsorted(cdf, alpha / 2 + eps, side="right"))
        u_rank = int(np.searchsorted(cdf, 1 - alpha / 2 - eps, side="left")) + 1
    elif hi_ok:  # lower tail unreachable: take the minimum, push the upper rank up
        l_rank = 1
        u_rank = int(np.searchsorted(cdf, cdf[0] + confidence - eps, side="left")) + 1
    else:  # upper tail unreachable: take the maximum, pull the lower rank down
        u_rank = n
        l_rank = int(np.searchsorted(cdf, cdf[n - 1] - confidence + eps, side="right"))
    return l_rank, u_rank


def quantile_interval(values: Sequence[float], q: float, confidence: float = 0.95) -> Interval:
    """The q-quantile of ``values`` with a distribution-free order-statistic interval.

    ``value`` is the sample quantile (numpy's default linear interpolation); ``lo``/``hi``
    are the order statistics X_(l), X_(u) from ``order_statistic_ranks``.  No assumption
    about the distribution's shape, which matters for latencies (skewed, heavy right
    tail).  NaN bounds when there are too few values to reach ``confidence`` at all (p99
    from 60 requests: the sample says nothing reliable about the 99th percentile).  Not a
    ratio: ``paired`` is False, ``n`` is the number of values, NaN values are dropped.
    """
    x = np.sort(np.asarray(values, dtype=float).ravel())
    x = x[~np.isnan(x)]
    n = len(x)
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be strictly between 0 and 1, got {q}")
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, False)
    value = float(np.quantile(x, q))
    ranks = order_statistic_ranks(n, q, confidence)
    if ranks is None:
        return Interval(value, math.nan, math.nan, n, False)
    l_rank, u_rank = ranks
    return Interval(value, float(x[l_rank - 1]), float(x[u_rank - 1]), n, False)


@dataclass(frozen=True)
class Components:
    """Where the spread of a log quantity lives, as standard deviations (log scale, so
    0.05 is about ±5%): between values of one process, between processes of one round,
    and between rounds.  NaN where the design cannot separate a part (one process per
    round: the process part is then inside the round part)."""

    within: float
    between_process: float
    between_round: float
    rounds: int
    processes: int
    values: int

    def mean_sd(self, rounds: int, processes: int = 1, values: int = 1) -> float:
        """Standard deviation of the grand mean of a design with this many rounds,
        processes per round and values per process, when the parts stay these."""
        parts = [
            (self.between_round, rounds),
            (self.between_process, rounds * processes),
            (self.within, rounds * processes * values),
        ]
        return math.sqrt(sum(sd**2 / n for sd, n in parts if not math.isnan(sd)))


def nested_components(x: np.ndarray) -> Components:
    """Variance components of a balanced nested design ``x[round, process, value]``
    (method of moments, each part clipped at zero), as standard deviations.

    The value part is the mean of the processes' sample variances; a process mean varies
    by that over ``values`` plus the process part; a round mean by the process means'
    spread over ``processes`` plus the round part.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 3 or min(x.shape) < 1 or np.isnan(x).any():
        raise ValueError("x must be a complete (rounds x processes x values) array, got shape %s" % (x.shape,))
    n_r, n_p, n_v = x.shape
    within = float(x.var(axis=2, ddof=1).mean()) if n_v > 1 else math.nan
    process_means = x.mean(axis=2)
    spread_p = float(process_means.var(axis=1, ddof=1).mean()) if n_p > 1 else math.nan
    round_means = process_means.mean(axis=1)
    spread_r = float(round_means.var(ddof=1)) if n_r > 1 else math.nan
    w = 0.0 if math.isnan(within) else within
    between_p = max(0.0, spread_p - w / n_v) if n_p > 1 else math.nan
    inner = spread_p if n_p > 1 else w / n_v
    between_r = max(0.0, spread_r - inner / n_p) if n_r > 1 else math.nan
    return Components(
        within=math.sqrt(within) if not math.isnan(within) else math.nan,
        between_process=math.sqrt(between_p) if not math.isnan(between_p) else math.nan,
        between_round=math.sqrt(between_r) if not math.isnan(between_r) else math.nan,
        rounds=n_r,
        processes=n_p,
        values=n_v,
    )
