# cython: language_level=3, freethreading_compatible=True
"""C loops called from Python threads, with and without the GIL.

The loop is a 64-bit linear congruential generator whose final state is returned:
a C compiler deletes a loop whose result is unused (a bare countdown takes no time
at all), but it cannot skip a chain of dependent multiply-adds that is returned.

The correct ``nogil`` pattern: a ``cdef ... nogil`` C function that touches no
Python object, called inside ``with nogil:`` from a ``def`` wrapper that Python
threads call.  Wrapping ``threading.Thread(...)`` itself in ``with nogil:`` (as an
old explainer does) is invalid: creating and starting threads manipulates Python
objects, and Cython refuses Python object access inside a ``nogil`` block.

``freethreading_compatible=True`` declares that this module needs no GIL, so
importing it on a free-threaded build does not switch the GIL back on.
"""

cdef unsigned long long _lcg(unsigned long long n) noexcept nogil:
    cdef unsigned long long state = 1
    cdef unsigned long long i
    for i in range(n):
        state = state * 6364136223846793005ULL + 1442695040888963407ULL
    return state


def lcg_nogil(unsigned long long n):
    """Run ``n`` LCG steps with the GIL released: threads run in parallel."""
    cdef unsigned long long result
    with nogil:
        result = _lcg(n)
    return result


def lcg_holding_gil(unsigned long long n):
    """Run ``n`` LCG steps while holding the GIL: on a GIL build threads take turns."""
    return _lcg(n)
