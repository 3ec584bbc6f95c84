"""Gradient clipping and Adam, one compiled call over every seed's row (clip_adam_rows):

    g ← g·min(1, c/(‖g‖+1e-6))  (only if c > 0; ‖g‖ is logged either way)
    m ← m + (1−β1)(g − m)   v ← β2·v + (1−β2)·g²
    θ ← θ − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε)

(``clip_grad_norm_`` and ``torch.optim.Adam``'s single-tensor update, written the same way,
each float32 operation rounded as torch rounds it). Two departures in how, not what: ‖g‖ sums
its squares in float64 over 8 fixed partial sums (a fixed order that vectorises), and
elements whose moments have decayed into the subnormal range are computed from their bits
(``clip_adam_rows`` says why and how).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .exact_math import _pow_int
from .jit import kernel, load8


@intrinsic
def _sum_squares8(typingctx, g, acc):
    """acc[u] += Σ_k float64(g[8k + u])² for u = 0…7, over the first 8·⌊n/8⌋ elements of the
    contiguous float32 array ``g``, k in increasing order: the 8 sums of ``_l2_norm``, as one
    8-lane float64 vector (numba's loop vectoriser leaves this loop scalar). Plain fmul and
    fadd, never fused: the same bits as the scalar loop on every CPU."""
    if not (g.dtype == types.float32 and g.layout == "C" and acc.dtype == types.float64):
        return None  # a typing error: only contiguous float32 rows are summed this way
    v8f = ir.VectorType(ir.FloatType(), 8)
    v8d = ir.VectorType(ir.DoubleType(), 8)

    def codegen(context, builder, signature, args):
        ga = context.make_array(signature.args[0])(context, builder, args[0])
        aa = context.make_array(signature.args[1])(context, builder, args[1])
        n = builder.extract_value(ga.shape, 0)
        accp = builder.bitcast(aa.data, v8d.as_pointer())
        total = cgutils.alloca_once_value(builder, builder.load(accp, align=8))
        blocks = builder.sdiv(n, ir.Constant(n.type, 8))
        with cgutils.for_range(builder, blocks) as loop:
            first = builder.mul(loop.index, ir.Constant(n.type, 8))
            x = builder.fpext(load8(builder, ga.data, first, v8f), v8d)
            builder.store(builder.fadd(builder.load(total), builder.fmul(x, x)), total)
        builder.store(builder.load(total), accp, align=8)
        return context.get_dummy_value()

    return types.void(g, acc), codegen


@kernel
def _l2_norm(g):
    """‖g‖₂ with the squares summed in float64 over 8 fixed interleaved partial sums (a fixed
    order that vectorises; one running sum would be 8× slower and no more exact)."""
    acc = np.zeros(8, np.float64)
    n = g.shape[0]
    _sum_squares8(g, acc)
    for k in range(n - n % 8, n):
        x = np.float64(g[k])
        acc[0] += x * x
    s = 0.0
    for u in range(8):
        s += acc[u]
    return math.sqrt(s)


_MIN_NORMAL = 1.1754943508222875e-38  # 2^-126, the smallest normal float32
_TWO_M149 = 2.0**-149  # float32 subnormals are the integers k·2^-149, 0 < k < 2^23
_TWO_149 = 2.0**149


@intrinsic
def _f32_bits(typingctx, x):
    """The bit pattern of a float32 as an int32 (no arithmetic: a subnormal costs nothing)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


@intrinsic
def _bits_f32(typingctx, b):
    """The float32 whose bit pattern is the int32 ``b``."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@kernel
def _adam_element(gi, m0, v0, p0, c):
    """One element of the Adam step of ``clip_adam_rows``: the new (θ, m, v)."""
    omb1, b2, omb2, epsf, step_size, bc2_sqrt, p_min, omb1_64, b2_64, fast = c
    dead = (
        fast & (gi == np.float32(0.0)) & (abs(m0) < np.float32(_MIN_NORMAL))
        & (abs(p0) >= p_min)
    )  # fmt: skip
    # v as float64 without a subnormal float32 operand: k·2^-149 from its bits when subnormal
    vb = _f32_bits(v0)
    v_sub = vb < np.int32(0x00800000)
    v_norm = np.float32(0.0) if v_sub else v0
    v64 = np.float64(vb) * _TWO_M149 if v_sub else np.float64(v_norm)
    w = v64 * b2_64  # v·β2, exact in float64 (24 × 24 bits)
    v_emul = dead & (w < _MIN_NORMAL)
    # the plain float32 update, its inputs zeroed in the lanes computed from bits below
    m_in = np.float32(0.0) if dead else m0
    v_in = np.float32(0.0) if v_emul else v0
    mi = m_in + (gi - m_in) * omb1  # torch's lerp_(g, 1 − β1)
    vi = v_in * b2 + omb2 * (gi * gi)  # mul_(β2).addcmul_(g, g, 1 − β2)
    denom = np.sqrt(vi) / bc2_sqrt + epsf
    p1 = p0 - step_size * (mi / denom)
    # Dead lanes. m + (0 − m)·(1−β1) with m = ±k·2^-149 is ±(k − rne(k·(1−β1)))·2^-149: the
    # product is exact in float64, and float32 rounds a subnormal result to a multiple of
    # 2^-149, half to even (np.rint). v·β2 + 0·(1−β2), when subnormal, is rne(v·β2·2^149)·2^-149.
    # θ moves by less than a quarter ulp (|θ| ≥ p_min), so it keeps its bits.
    mb = _f32_bits(m0)
    k = np.int64(mb & np.int32(0x7FFFFFFF))
    km = k - np.int64(np.rint(np.float64(k) * omb1_64))
    m_bits = np.int32(0) if km == 0 else (mb & np.int32(-0x80000000)) | np.int32(km)
    w_sub = w if v_emul else 0.0
    v_bits = np.int32(np.rint(w_sub * _TWO_149))
    m_out = _bits_f32(m_bits) if dead else mi
    v_out = _bits_f32(v_bits) if v_emul else vi
    return (p0 if dead else p1), m_out, v_out


@kernel
def clip_adam_rows(P, G, M, V, rows, steps, lrs, beta1, beta2, eps, max_norm, norms):
    """For each row r in ``rows``: the pre-clip norm ‖G[r]‖ into ``norms``, the clip (if
    ``max_norm`` > 0, ``clip_grad_norm_``'s rule), then one Adam step at step count
    ``steps[r]`` (already advanced) with learning rate ``lrs[r]``.

    Speed without changing a bit: a parameter whose gradient is exactly 0 (a dead relu unit)
    decays its moments into the subnormal range, and every float operation on a subnormal
    costs a microcode assist on many CPUs (~100 cycles). For such an element (g = 0, |m| below
    the smallest normal, θ large enough that the step is under a quarter ulp) the result is
    computed exactly without subnormal float arithmetic: m and a subnormal v·β2 from their
    integer bits (the float32 rounding of a subnormal result is rounding to a multiple of
    2^-149, half to even), θ unchanged. Every other element takes the plain update."""
    omb1 = np.float32(1.0 - beta1)
    b2 = np.float32(beta2)
    omb2 = np.float32(1.0 - beta2)
    epsf = np.float32(eps)
    fast = (epsf > np.float32(0.0)) & (omb1 >= np.float32(0.0)) & (omb1 <= np.float32(1.0))
    for k in range(rows.shape[0]):
        r = rows[k]
        g = G[r]
        n = g.shape[0]
        norm = _l2_norm(g)
        norms[k] = norm
        if max_norm > 0.0:
            coef = max_norm / (norm + 1e-6)
            if coef < 1.0:
                cf = np.float32(coef)
                for i in range(n):
                    g[i] = g[i] * cf
        t = steps[r]
        step_size = np.float32(lrs[r] / (1.0 - _pow_int(beta1, t)))
        bc2_sqrt = np.float32(math.sqrt(1.0 - _pow_int(beta2, t)))
        # |θ| from which a step of at most step_size·2^-126/ε (with rounding margins) is
        # below a quarter ulp of θ; no fast lane when the bound is not finite
        p_min = np.float32(np.inf)
        if fast:
            pm = abs(np.float64(step_size)) * _MIN_NORMAL / np.float64(epsf) * 4.0 * 2.0**25
            if math.isfinite(pm):
                p_min = np.float32(max(pm, 2.0**-100))
        c = (omb1, b2, omb2, epsf, step_size, bc2_sqrt, p_min, np.float64(omb1),
             np.float64(b2), fast)  # fmt: skip
        p, m, v = P[r], M[r], V[r]
        for i in range(n):
            p[i], m[i], v[i] = _adam_element(g[i], m[i], v[i], p[i], c)
