"""The one way the engine compiles a kernel (numba), and the LLVM helper its vector kernels share.

Reproducibility rests on how every kernel is compiled, which the tests check:
  * no fastmath: products are never fused into FMAs and sums never reordered, so every sum runs
    in the fixed order its kernel writes, and the same inputs give the same bits on every run
    and every CPU (``tests/test_cpu_independence.py``);
  * each kernel computes a row (a seed) by the same loop whatever the other rows are, so a
    seed's numbers do not depend on the group it is trained in (grouping invariance);
  * exp, log and β^t are the engine's own (exact_math.py), not the C library's or NumPy's,
    whose results may depend on the CPU's features.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from numba import njit

__all__ = ["SOURCES_STAMP", "kernel", "load8"]

# cache=True: compiled once per machine, then loaded from __pycache__ (or NUMBA_CACHE_DIR).
# error_model="numpy": a division by zero gives inf/nan instead of raising, which lets the
# loops vectorise. No fastmath: products are never fused and sums never reordered.
_njit = njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")


def _sources_stamp() -> str:
    """SHA-256 of the package's Python sources."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


SOURCES_STAMP = _sources_stamp()


def kernel(fn):
    """``njit`` with a cache that is stale when any source of the package changes. Numba
    stamps a cached kernel with its own file only, so a kernel that inlines another module's
    (``one_step._update_rows`` calls adam.py's Adam) would otherwise keep running the old
    code after an edit there. (Sets a private attribute of numba's cache: numba is pinned, and
    ``tests/test_engine_math.py`` checks the stamp is in place.)"""
    disp = _njit(fn)
    cache_file = getattr(getattr(disp, "_cache", None), "_cache_file", None)
    if cache_file is not None:  # None under NUMBA_DISABLE_JIT: plain Python, nothing cached
        cache_file._source_stamp = SOURCES_STAMP
    return disp


def load8(builder, data, first, vector):
    """LLVM IR: the 8 elements data[first : first + 8] as one ``vector`` value."""
    return builder.load(builder.bitcast(builder.gep(data, [first]), vector.as_pointer()), align=4)
