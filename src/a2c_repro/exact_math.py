"""exp, log and integer powers from + − × ÷ alone: the engine's own libm.

The C library's and NumPy's ``exp``/``log``/``pow`` may return different last bits on different
CPUs (glibc and NumPy pick FMA or AVX-512 variants at run time). These are IEEE-exact on every
CPU (numba without fastmath never fuses them into FMAs) and accurate to ~1e-16 relative in
float64, so the float32 results the engine keeps are the correctly rounded ones in all but
vanishingly rare cases — and the same bits on every machine in every case.
"""

from __future__ import annotations

import math

import numpy as np

from .jit import kernel

_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k·_LN2_HI is exact for |k| < 2^20
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_SQRT_HALF = 0.70710678118654752440


@kernel
def _exp(x):
    """e^x in float64: x = k·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor series (Horner,
    degree 18: truncation < 1e-19), times 2^k exactly."""
    if math.isnan(x):
        return x
    if x > 709.78:
        return np.inf
    if x < -745.2:
        return 0.0
    k = math.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    s = 1.0
    for n in range(18, 0, -1):
        s = 1.0 + s * r / n
    return math.ldexp(s, int(k))


@kernel
def _log(x):
    """ln x in float64 for x > 0: x = m·2^e with √½ ≤ m < √2, ln m = 2·atanh(u),
    u = (m − 1)/(m + 1), |u| ≤ 0.172, by its odd series to u^41 (truncation < 1e-18)."""
    if math.isnan(x) or x < 0.0:
        return np.nan
    if x == 0.0:
        return -np.inf
    if x == np.inf:
        return x
    m, e = math.frexp(x)  # x = m·2^e, 0.5 ≤ m < 1 (exact)
    if m < _SQRT_HALF:
        m *= 2.0
        e -= 1
    u = (m - 1.0) / (m + 1.0)
    u2 = u * u
    s = 0.0
    for n in range(41, 1, -2):
        s = (s + 1.0 / n) * u2
    return e * _LN2_HI + (e * _LN2_LO + 2.0 * u * (1.0 + s))


@kernel
def _two_prod(a, b):
    """a·b = p + e exactly (Dekker's product with Veltkamp splitting: no FMA needed)."""
    p = a * b
    c = 134217729.0 * a  # 2^27 + 1
    ah = c - (c - a)
    al = a - ah
    c = 134217729.0 * b
    bh = c - (c - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


@kernel
def _pow_int(b, n):
    """b^n for a float64 b in (0, 1] and an integer-valued n ≥ 0, by binary powering in
    double-double arithmetic (relative error ~1e-30 before the final rounding), so the
    result is the correctly rounded b^n, as C's pow aims at, computed the same everywhere."""
    rh, rl = 1.0, 0.0
    xh, xl = b, 0.0
    k = int(n)
    while k > 0:
        if k & 1:
            p, e = _two_prod(rh, xh)
            e += rh * xl + rl * xh
            rh = p + e
            rl = e - (rh - p)
        k >>= 1
        if k:
            p, e = _two_prod(xh, xh)
            e += 2.0 * xh * xl
            xh = p + e
            xl = e - (xh - p)
            if xh < 1e-290:  # b^n underflows; β^t only enters as 1 − β^t
                xh, xl = 0.0, 0.0
    return rh + rl
