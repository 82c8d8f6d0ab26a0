"""The scaling family: every kernel runs in every mode it declares, and does what it claims.

Runs on every interpreter (nox parametrises it), so standard library + pyperf only, and
imports no pytest: the host suite also runs these tests on the free-threaded build and
PyPy, bare (tests/test_scaling_family.py).  No timing here: whether a kernel scales is for
the results.
"""

from __future__ import annotations

import pickle
import threading

from workloads import scaling
from workloads._registry import THREAD_ONLY_MODES, Bench, load_all, select
from workloads.modes import time_bench

FAMILY = [wl.name for wl in select(load_all(), suites=["scaling"])]


def run_family(size: int = 64, workers: int = 2) -> list:
    """Time every kernel of the family once in each of the family's modes (serial and
    threads; lent kernels have more, tested with their own modules) at ``size`` units:
    (name, mode, seconds) for each.  What the other interpreters run too."""
    out = []
    for wl in select(load_all(), suites=["scaling"]):
        for mode in THREAD_ONLY_MODES:
            bench = Bench(wl, mode, 1 if mode == "serial" else workers, size)
            out.append((wl.name, mode, time_bench(bench, 1)))
    return out


def test_every_kernel_runs_in_serial_and_threads():
    got = run_family()
    assert [(name, mode) for name, mode, _ in got] == [(n, m) for n in FAMILY for m in THREAD_ONLY_MODES]
    assert all(seconds > 0 for _, _, seconds in got)


def test_each_kernel_is_declared_for_threads_with_a_size_and_pickles_by_reference():
    for name in FAMILY:
        wl = load_all()[name]
        assert set(THREAD_ONLY_MODES) <= set(wl.modes), name
        assert wl.size > 0 and wl.doc and "scaling" in wl.suites, name
        assert pickle.loads(pickle.dumps(wl.func)) is wl.func, name
        if wl.shared is not None:
            assert wl.shared() is not wl.shared(), name  # a fresh object per value, built alike everywhere


def test_the_kernels_compute_what_they_claim():
    assert scaling.string_const(10) == 10 and scaling.tuple_const(3) == 3
    assert scaling.context_manager(5) == 5
    assert scaling.methodcaller_call(4) == 4
    assert scaling.namedtuple_creation(3) == 6 and scaling.typed_namedtuple_creation(3) == 6
    assert scaling.module_function(4) == 2 * (0 + 1 + 2 + 3)
    assert scaling.special_method_lookup(4) == 0 + 0 + 0 + 1  # round(i / 4): 0, 0, 0 (0.5 rounds to even), 1
    assert scaling.c_module_function(1) == 1.0
    assert scaling.c_method_shared(3, scaling._lookup_table()) == 15


def test_shared_state_is_really_shared_by_the_threads():
    shared = scaling._Shared()
    before = shared.attr
    assert scaling.shared_attr_read(3, shared) is before
    assert scaling.shared_property(2, shared) is shared._hidden
    assert scaling.class_attr_read(2) is scaling._Shared.limit
    threads = [threading.Thread(target=scaling.shared_attr_write, args=(100, shared)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert shared.attr == 99
    table = scaling._table()
    scaling.shared_dict_read(65, table)
    assert table[0] == 0 and table[64] == 64 and table[1] == 1000  # one store in 64, reads elsewhere
