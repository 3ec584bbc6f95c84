"""Seed-batched MLPs: forward, backward and Adam as compiled loops (numba), one seed per row.

Why not ``nn.Module`` + autograd + ``torch.optim``?  The notebooks' networks are tiny (4→128→64→2),
so a notebook step costs 2–4 ms of PyTorch per-op overhead and almost no arithmetic.  Here the
parameters of one network of every seed are ONE float32 array ``P`` (S, n_params), row s holding
seed s's weights and biases back to back, and each pass below is one compiled call over all rows:

    z_l = b_l + h_{l-1} @ W_l         h_l = relu(z_l)                      forward_rows
    dW_l = Σ_t h_{l-1}ᵀ dz_l   db_l = Σ_t dz_l   dh_{l-1} = dz_l W_lᵀ   dz_{l-1} = dh·1[z>0]
                                                                        backward_rows
    g ← g·min(1, c/(‖g‖+1e-6))  (only if c > 0; ‖g‖ is logged either way)
    m ← m + (1−β1)(g − m)   v ← β2·v + (1−β2)·g²
    θ ← θ − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε)                       clip_adam_rows

(the Adam line is ``torch.optim.Adam``'s single-tensor update, written the same way).

Reproducibility rests on three properties of these loops, which the tests check:
  * each row is computed by the same loop whatever the other rows are, so a seed's numbers do
    not depend on the group it is trained in (grouping invariance);
  * every sum runs in a fixed order written here (products are never fused into FMAs: numba
    compiles without fastmath), so the same inputs give the same bits on every run;
  * exp, log and β^t are computed here (``_exp``, ``_log``, ``_pow_int``) from + − × ÷ alone,
    not by the C library or NumPy, whose results may depend on the CPU's features (glibc and
    NumPy pick FMA or AVX-512 variants at run time); initial weights come from NumPy's PCG64
    bits, not from torch's CPU-dispatched uniform kernel.
A weight matrix W_l is stored (in, out) row-major, so the forward inner loop runs along a row
of W and vectorises; the backward pass takes dot products along the same rows (one row)
or runs along the rows of a transposed copy (a batch).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

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


def _jit(fn):
    """``njit`` with a cache that is stale when any source of the package changes. Numba
    stamps a cached kernel with its own file only, so a kernel that inlines another module's
    (``one_step._update_rows`` calls this file's Adam) would otherwise keep running the old
    code after an edit there. (Sets a private attribute of numba's cache: numba is pinned, and
    ``tests/test_engine_math.py`` checks the stamp is in place.)"""
    disp = _njit(fn)
    cache_file = getattr(getattr(disp, "_cache", None), "_cache_file", None)
    if cache_file is not None:  # None under NUMBA_DISABLE_JIT: plain Python, nothing cached
        cache_file._source_stamp = SOURCES_STAMP
    return disp


@dataclass(frozen=True)
class Layout:
    """Where each layer lives in a parameter row and in an activation row.

    ``lay[l] = (w_off, b_off, n_in, n_out)``: W_l is ``row[w_off : w_off + n_in·n_out]`` viewed
    (n_in, n_out), b_l is ``row[b_off : b_off + n_out]``. ``acol[l]`` is the first column of the
    input of layer l in an activation buffer (S, B, width); ``acol[L]`` that of the output."""

    sizes: tuple[int, ...]
    lay: np.ndarray
    acol: np.ndarray
    n_params: int
    width: int

    @classmethod
    def of(cls, n_in: int, hidden: tuple[int, ...], n_out: int) -> Layout:
        sizes = (n_in, *hidden, n_out)
        lay, pos = [], 0
        for a, b in itertools.pairwise(sizes):
            lay.append((pos, pos + a * b, a, b))
            pos += a * b + b
        acol = np.concatenate([[0], np.cumsum(sizes)])[:-1]
        return cls(sizes, np.array(lay, np.int64), acol.astype(np.int64), pos, int(sum(sizes)))

    def out_cols(self) -> slice:
        return slice(int(self.acol[-1]), self.width)

    def views(self, row: np.ndarray) -> list[np.ndarray]:
        """[W_0 (in, out), b_0 (out,), W_1, …] as views into one parameter row."""
        out = []
        for w, b, a, n in self.lay.tolist():
            out += [row[w : w + a * n].reshape(a, n), row[b : b + n]]
        return out


def default_init(layout: Layout, row: np.ndarray, rng: np.random.Generator) -> None:
    """Fill one parameter row from ``nn.Linear``'s default distribution, layer after layer:
    weight then bias, each U(−1/√fan_in, 1/√fan_in) (kaiming_uniform_ with a=√5 gives the
    same bound for the weight). The uniforms are NumPy's float64 draws from ``rng`` (integer
    bits: the same on every CPU), scaled in float64 and rounded once to float32. torch's own
    ``uniform_`` is not used: its bits depend on the CPU kernel torch dispatches to.
    The episodic notebook applies an unpublished ``utils.init_weights``; it cannot be
    reproduced, so both variants use this default."""
    views = layout.views(row)
    for k, (a, b) in enumerate(itertools.pairwise(layout.sizes)):
        bound = 1.0 / math.sqrt(a)
        w = (rng.random((b, a)) * 2.0 - 1.0) * bound  # nn.Linear's (out, in) order
        views[2 * k][...] = w.T.astype(np.float32)  # stored (in, out) for h @ W
        views[2 * k + 1][...] = ((rng.random(b) * 2.0 - 1.0) * bound).astype(np.float32)


# ------------------------------------------------------- exp, log, integer powers ----
# Fixed implementations from + − × ÷ (IEEE-exact on every CPU; numba without fastmath never
# fuses them into FMAs), accurate to ~1e-16 relative in float64, so the float32 results the
# engine keeps are the correctly rounded ones in all but vanishingly rare cases — and the
# same bits on every machine in every case.
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k·_LN2_HI is exact for |k| < 2^20
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_SQRT_HALF = 0.70710678118654752440


@_jit
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


@_jit
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


@_jit
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


@_jit
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


# ------------------------------------------------------------------------- forward pass ----
@_jit
def _forward_row(p, lay, acol, x, a):
    B = x.shape[0]
    L = lay.shape[0]
    active = np.empty(a.shape[1], np.int64)
    for t in range(B):
        for i in range(x.shape[1]):
            a[t, i] = x[t, i]
    for l in range(L):
        w0, b0, nin, nout = lay[l, 0], lay[l, 1], lay[l, 2], lay[l, 3]
        i0, o0 = acol[l], acol[l + 1]
        for t in range(B):
            z = a[t, o0 : o0 + nout]
            for j in range(nout):
                z[j] = p[b0 + j]
            n = 0  # the inputs that are not 0: relu zeros (half the hidden units) add nothing
            for i in range(nin):
                if a[t, i0 + i] != 0.0:
                    active[n] = i
                    n += 1
            # z += h_i·W[i, :] for the active i in order, two at a time (one pass over z; the
            # two additions still round one after the other, so the bits are the same)
            for k in range(0, n - 1, 2):
                i, i2 = active[k], active[k + 1]
                hi, hi2 = a[t, i0 + i], a[t, i0 + i2]
                wi = p[w0 + i * nout : w0 + (i + 1) * nout]
                wi2 = p[w0 + i2 * nout : w0 + (i2 + 1) * nout]
                for j in range(nout):
                    z[j] = (z[j] + hi * wi[j]) + hi2 * wi2[j]
            if n % 2:
                i = active[n - 1]
                hi = a[t, i0 + i]
                wi = p[w0 + i * nout : w0 + (i + 1) * nout]
                for j in range(nout):
                    z[j] += hi * wi[j]
            if l < L - 1:
                for j in range(nout):
                    if z[j] < 0.0:  # noqa: PLR1730 (keeps -0.0 and NaN as they are)
                        z[j] = 0.0


@_jit
def forward_rows(P, lay, acol, X, A):
    """Forward pass of every row: ``X`` (S, B, n_in) → activations ``A`` (S, B, width) holding
    [x, h_1, …, output] side by side (the backward pass needs them)."""
    for r in range(P.shape[0]):
        _forward_row(P[r], lay, acol, X[r], A[r])


# ------------------------------------------------------------------------ backward pass ----
def _load8(builder, data, first, vector):
    """LLVM IR: the 8 elements data[first : first + 8] as one ``vector`` value."""
    return builder.load(builder.bitcast(builder.gep(data, [first]), vector.as_pointer()), align=4)


@intrinsic
def _dot(typingctx, x, y):
    """Σ_k x_k·y_k over 8 fixed interleaved partial sums s_u = Σ_k x[8k+u]·y[8k+u] (one
    8-lane float32 vector; the tail goes to s_0), then ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)).
    Plain fmul and fadd, never fused: the same bits on every CPU. ``x`` and ``y`` are
    contiguous float32 arrays of the same length."""
    if not all(a.dtype == types.float32 and a.layout == "C" and a.ndim == 1 for a in (x, y)):
        return None
    f32 = ir.FloatType()
    v8f = ir.VectorType(f32, 8)

    def codegen(context, builder, signature, args):
        xa = context.make_array(signature.args[0])(context, builder, args[0])
        ya = context.make_array(signature.args[1])(context, builder, args[1])
        n = builder.extract_value(xa.shape, 0)
        eight = ir.Constant(n.type, 8)
        acc = cgutils.alloca_once_value(builder, ir.Constant(v8f, None))
        with cgutils.for_range(builder, builder.sdiv(n, eight)) as loop:
            first = builder.mul(loop.index, eight)
            xv, yv = _load8(builder, xa.data, first, v8f), _load8(builder, ya.data, first, v8f)
            builder.store(builder.fadd(builder.load(acc), builder.fmul(xv, yv)), acc)
        lanes = [builder.extract_element(builder.load(acc), ir.Constant(ir.IntType(32), u))
                 for u in range(8)]  # fmt: skip
        s0 = cgutils.alloca_once_value(builder, lanes[0])
        tail = builder.sub(n, builder.srem(n, eight))
        with cgutils.for_range_slice(builder, tail, n, ir.Constant(n.type, 1)) as (k, _):
            prod = builder.fmul(builder.load(builder.gep(xa.data, [k])),
                                builder.load(builder.gep(ya.data, [k])))  # fmt: skip
            builder.store(builder.fadd(builder.load(s0), prod), s0)
        lanes[0] = builder.load(s0)
        add = builder.fadd
        return add(add(add(lanes[0], lanes[1]), add(lanes[2], lanes[3])),
                   add(add(lanes[4], lanes[5]), add(lanes[6], lanes[7])))  # fmt: skip

    return types.float32(x, y), codegen


@_jit
def _backward_row(p, lay, acol, a, d, g, wt):
    B = a.shape[0]
    for l in range(lay.shape[0] - 1, -1, -1):
        w0, b0, nin, nout = lay[l, 0], lay[l, 1], lay[l, 2], lay[l, 3]
        i0, o0 = acol[l], acol[l + 1]
        gw = g[w0 : w0 + nin * nout]
        gb = g[b0 : b0 + nout]
        gw[:] = 0.0
        gb[:] = 0.0
        for t in range(B):  # db = Σ_t dz_t, in step order
            for j in range(nout):
                gb[j] += d[t, o0 + j]
        # dW = Σ_t h_tᵀ dz_t in step order, two steps per pass over a row of dW (the two
        # additions still round one after the other, so the bits are those of one at a time)
        for t in range(0, B, 2):
            dz = d[t, o0 : o0 + nout]
            two = t + 1 < B
            dz2 = d[t + 1 if two else t, o0 : o0 + nout]
            for i in range(nin):
                hi = a[t, i0 + i]
                hi2 = a[t + 1, i0 + i] if two else np.float32(0.0)
                gi = gw[i * nout : (i + 1) * nout]
                if hi != 0.0 and hi2 != 0.0:
                    for j in range(nout):
                        gi[j] = (gi[j] + hi * dz[j]) + hi2 * dz2[j]
                elif hi != 0.0:
                    for j in range(nout):
                        gi[j] += hi * dz[j]
                elif hi2 != 0.0:
                    for j in range(nout):
                        gi[j] += hi2 * dz2[j]
        if l == 0:
            break
        # dz_{l-1} = 1[h > 0]·(W dz). One row (one-step): a dot product along each row of W for
        # the active units only. A batch (an episode): Wᵀ once, then Σ_j dz_j·Wᵀ[j] along its
        # rows, which vectorises (the transpose costs more than it saves for a single row).
        if B == 1:
            dz = d[0, o0 : o0 + nout]
            for i in range(nin):
                if a[0, i0 + i] > 0.0:  # relu': h = relu(z) > 0 exactly where z > 0
                    d[0, i0 + i] = _dot(p[w0 + i * nout : w0 + (i + 1) * nout], dz)
                else:
                    d[0, i0 + i] = 0.0
            continue
        for i in range(nin):
            for j in range(nout):
                wt[j * nin + i] = p[w0 + i * nout + j]
        for t in range(B):
            dh = d[t, i0 : i0 + nin]
            dh[:] = 0.0
            for j in range(nout):
                dj = d[t, o0 + j]
                if dj != 0.0:
                    col = wt[j * nin : (j + 1) * nin]
                    for i in range(nin):
                        dh[i] += dj * col[i]
            for i in range(nin):
                if a[t, i0 + i] <= 0.0:
                    dh[i] = 0.0


@_jit
def backward_rows(P, lay, acol, A, D, G):
    """Gradients of a scalar-per-row loss. ``D`` (S, B, width) carries ∂loss/∂output in its
    output columns (the rest is scratch); the gradient of row r is written into ``G[r]``."""
    wt = np.empty(P.shape[1] if A.shape[1] > 1 else 0, np.float32)
    for r in range(P.shape[0]):
        _backward_row(P[r], lay, acol, A[r], D[r], G[r], wt)


# ------------------------------------------------------------------- clipping and Adam ----
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
            x = builder.fpext(_load8(builder, ga.data, first, v8f), v8d)
            builder.store(builder.fadd(builder.load(total), builder.fmul(x, x)), total)
        builder.store(builder.load(total), accp, align=8)
        return context.get_dummy_value()

    return types.void(g, acc), codegen


@_jit
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


@_jit
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


@_jit
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


# ------------------------------------------------------------------ policy distribution ----
@_jit
def categorical_rows(logits, logp, p, ent):
    """log π = z − max z − log Σ exp(z − max z), π = exp(log π), H = −Σ π·log π, per row of
    ``logits`` (N, A) (float32, summed in action order)."""
    for r in range(logits.shape[0]):
        z = logits[r]
        mx = z[0]
        for j in range(1, z.shape[0]):
            if z[j] > mx:  # noqa: PLR1730
                mx = z[j]
        s = np.float32(0.0)
        for j in range(z.shape[0]):
            s += np.float32(_exp(np.float64(z[j] - mx)))
        lse = np.float32(_log(np.float64(s)))
        h = np.float32(0.0)
        for j in range(z.shape[0]):
            lp = (z[j] - mx) - lse
            pj = np.float32(_exp(np.float64(lp)))
            logp[r, j] = lp
            p[r, j] = pj
            h -= pj * lp
        ent[r] = h


@_jit
def act_rows(P, lay, acol, X, U, A, actions):
    """Forward pass of one observation per row (``X`` (S, 1, n_in) → ``A``), then one action per
    row, ``_sample``d from π (``categorical_rows``) with the uniform ``U[r]``."""
    forward_rows(P, lay, acol, X, A)
    o = acol[acol.shape[0] - 1]
    n = A.shape[2] - o
    z = np.empty((1, n), np.float32)
    logp, p = np.empty((1, n), np.float32), np.empty((1, n), np.float32)
    ent = np.empty(1, np.float32)
    for r in range(P.shape[0]):
        for j in range(n):
            z[0, j] = A[r, 0, o + j]
        categorical_rows(z, logp, p, ent)
        actions[r] = _sample(p[0], U[r])


@_jit
def _sample(p, u):
    """Inverse-CDF sample from π = ``p`` (A,) and one uniform u: a = #{j : cdf_j < u}, capped
    at the last action, the cdf summed in float32 in action order."""
    cdf = np.float32(0.0)
    a = 0
    for j in range(p.shape[0]):
        cdf += p[j]
        if cdf < u:
            a += 1
    return min(a, p.shape[0] - 1)


@_jit
def sample_rows(p, u, actions):
    """``_sample`` for every row of ``p`` (N, A) with its uniform ``u[r]``."""
    for r in range(p.shape[0]):
        actions[r] = _sample(p[r], u[r])
