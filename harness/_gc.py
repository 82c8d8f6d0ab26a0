"""Pausing the cyclic garbage collector while the host makes many objects at once."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The cyclic garbage collector off inside the block (left off where a caller paused it).

    Making many objects starts full collections, and each walks every object the process
    holds: with the frames of 10,000 benchmarks in memory, they would take close to a fifth
    of a chart's drawing and half of building the page.  What the block leaves behind goes at
    the first automatic collection after it."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
