"""The ``scaling`` family: the patterns CPython's developers watch on free-threaded builds.

CPython keeps a script, ``Tools/ftscalingbench/ftscalingbench.py``, of small kernels that
ought to scale with threads on a free-threaded build and have not always: each is a loop
over one language feature (a call, an attribute read, an allocation), and when one stops
scaling, the feature it exercises is what regressed, usually through reference-count
contention on an object every thread touches or a lock every thread takes.  This module
writes those patterns for gilbench, plus the known bottlenecks found with such kernels
since (CPython issues 139103, 148906 and 132657; see docs/workloads.md): state shared by
every thread, read or written.

Unlike the script, which times one run of every thread doing the whole loop (weak
scaling), each kernel here is a gilbench workload: ``n`` units split across the workers
(strong scaling), measured in rounds with intervals.  Kernels of ``workloads/cpu.py`` and
``workloads/contention.py`` that already exercise a pattern are members of the family
through their declarations (``suites=("scaling",)``), under their own names; this module
holds the rest.  Shared state comes from each declaration's ``shared`` factory, called once
per value in the benchmark process, so every interpreter builds it alike.

Threads only (serial is the baseline): the family asks whether threads scale, and
processes share nothing for these kernels to contend on.
"""

from __future__ import annotations

import math
import operator
import sys
from collections import namedtuple
from typing import Any, Callable, Dict, List, NamedTuple, Optional

from workloads._registry import THREAD_ONLY_MODES, workload

SUITE = ("scaling",)


def _kernel(size: int, tags: tuple, shared: Optional[Callable[[], Any]] = None) -> Callable:
    """The family's declaration: serial and threads, the ``scaling`` suite."""
    return workload(size=size, modes=THREAD_ONLY_MODES, tags=("cpu",) + tags, shared=shared, suites=SUITE)


# -- calls ------------------------------------------------------------------------------


def _lookup_table() -> List[int]:
    return list(range(16))


@_kernel(size=2_500_000, tags=("calls", "shared"), shared=_lookup_table)
def c_method_shared(n: int, shared: List[int]) -> int:
    """A C method (``list.index``) called on one list every thread shares."""
    total = 0
    for _ in range(n):
        total += shared.index(5)
    return total


@_kernel(size=2_500_000, tags=("calls",))
def c_module_function(n: int) -> float:
    """A C function looked up on its module at every call (``math.cos``): ftscalingbench's ``cmodule_function``."""
    total = 0.0
    for i in range(n):
        total += math.cos(i / n)
    return total


def _double(value: int) -> int:
    return value + value


_THIS_MODULE = sys.modules[__name__]


@_kernel(size=2_500_000, tags=("calls",))
def module_function(n: int) -> int:
    """A Python function looked up on its module at every call: ftscalingbench's ``module_function``."""
    module = _THIS_MODULE
    total = 0
    for i in range(n):
        total += module._double(i)
    return total


@_kernel(size=2_500_000, tags=("calls",))
def special_method_lookup(n: int) -> int:
    """``round(x)``, which looks ``__round__`` up on the type: ftscalingbench's ``object_lookup_special``."""
    total = 0
    for i in range(n):
        total += round(i / n)
    return total


class _Manager:
    def __enter__(self) -> _Manager:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


@_kernel(size=1_200_000, tags=("calls",))
def context_manager(n: int) -> int:
    """A ``with`` block on a fresh context manager: ``__enter__``/``__exit__`` calls (``context_manager``)."""
    count = 0
    for _ in range(n):
        with _Manager():
            count += 1
    return count


class _Target:
    __slots__ = ()

    def func(self) -> int:
        return 1


@_kernel(size=3_000_000, tags=("calls",))
def methodcaller_call(n: int) -> int:
    """``operator.methodcaller`` applied to an object with empty ``__slots__`` (``method_caller``)."""
    call = operator.methodcaller("func")
    target = _Target()
    total = 0
    for _ in range(n):
        total += call(target)
    return total


# -- constants ----------------------------------------------------------------------------


@_kernel(size=5_000_000, tags=("constants",))
def string_const(n: int) -> int:
    """Compare with a string constant of the code object: ftscalingbench's ``load_string_const``."""
    total = 0
    for i in range(n):
        total += 7 if i == "a string" else 1
    return total


@_kernel(size=5_000_000, tags=("constants",))
def tuple_const(n: int) -> int:
    """Compare with a tuple constant of the code object: ftscalingbench's ``load_tuple_const``."""
    total = 0
    for i in range(n):
        total += 7 if i == (1, 2) else 1
    return total


# -- instances of library types --------------------------------------------------------------

_Pair = namedtuple("_Pair", ["x", "y", "z"])


class _TypedPair(NamedTuple):
    x: int
    y: int
    z: int


@_kernel(size=800_000, tags=("alloc",))
def namedtuple_creation(n: int) -> int:
    """``collections.namedtuple`` instances built by keyword (``instantiate_namedtuple``)."""
    total = 0
    for i in range(n):
        total += _Pair(x=i, y=2, z=3).y
    return total


@_kernel(size=800_000, tags=("alloc",))
def typed_namedtuple_creation(n: int) -> int:
    """``typing.NamedTuple`` instances built by keyword (``instantiate_typing_namedtuple``)."""
    total = 0
    for i in range(n):
        total += _TypedPair(x=i, y=2, z=3).y
    return total


# -- state every thread shares: the known bottlenecks ------------------------------------------


class _Shared:
    """One instance every thread of a value reads or writes.  Its attribute holds an
    ordinary object, not an immortal one (small ints, ``None``), so a read changes the
    reference count of an object every thread touches: CPython issue 139103's pattern."""

    limit = object()  # a class attribute

    def __init__(self) -> None:
        self.attr = object()
        self._hidden = object()

    @property
    def prop(self) -> object:
        return self._hidden


@_kernel(size=4_000_000, tags=("shared",), shared=_Shared)
def shared_attr_read(n: int, shared: _Shared) -> object:
    """Three reads of an instance attribute of one shared object per unit (CPython issue 139103)."""
    value = None
    for _ in range(n):
        value = shared.attr
        value = shared.attr
        value = shared.attr
    return value


@_kernel(size=6_000_000, tags=("shared",), shared=_Shared)
def shared_attr_write(n: int, shared: _Shared) -> int:
    """Stores into an instance attribute of one shared object, every thread the same one."""
    for i in range(n):
        shared.attr = i
    return n


@_kernel(size=4_000_000, tags=("shared",), shared=_Shared)
def shared_property(n: int, shared: _Shared) -> object:
    """A ``property`` read on one shared object: a descriptor call per read (CPython issue 148906)."""
    value = None
    for _ in range(n):
        value = shared.prop
    return value


@_kernel(size=4_000_000, tags=("shared",))
def class_attr_read(n: int) -> object:
    """Three reads of a class attribute through the class, which every thread shares."""
    cls = _Shared
    value = None
    for _ in range(n):
        value = cls.limit
        value = cls.limit
        value = cls.limit
    return value


def _table() -> Dict[int, int]:
    return {key: key * 1000 for key in range(1024)}


@_kernel(size=2_500_000, tags=("shared",), shared=_table)
def shared_dict_read(n: int, shared: Dict[int, int]) -> int:
    """Reads of one shared dict, cycling over its 1024 keys, and one store in 64: read-mostly."""
    total = 0
    for i in range(n):
        key = i & 1023
        if i & 63 == 0:
            shared[key] = i
        total += shared[key]
    return total
