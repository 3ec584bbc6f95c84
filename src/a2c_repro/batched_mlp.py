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

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numba import njit

# cache=True: compiled once per machine, then loaded from __pycache__ (or NUMBA_CACHE_DIR).
# error_model="numpy": a division by zero gives inf/nan instead of raising, which lets the
# loops vectorise. No fastmath: products are never fused and sums never reordered.
_jit = njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")


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

    @property
    def n_out(self) -> int:
        return self.sizes[-1]

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
@_jit
def _dot(x, y):
    """Σ_k x_k·y_k over 8 fixed interleaved partial sums (vectorises; a fixed order)."""
    n = x.shape[0]
    n8 = n - n % 8
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = np.float32(0.0)
    for k in range(0, n8, 8):
        s0 += x[k] * y[k]
        s1 += x[k + 1] * y[k + 1]
        s2 += x[k + 2] * y[k + 2]
        s3 += x[k + 3] * y[k + 3]
        s4 += x[k + 4] * y[k + 4]
        s5 += x[k + 5] * y[k + 5]
        s6 += x[k + 6] * y[k + 6]
        s7 += x[k + 7] * y[k + 7]
    for k in range(n8, n):
        s0 += x[k] * y[k]
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


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
@_jit
def _l2_norm(g):
    """‖g‖₂ with the squares summed in float64 over 8 fixed interleaved partial sums (a fixed
    order that vectorises; one running sum would be 8× slower and no more exact)."""
    acc = np.zeros(8, np.float64)
    n = g.shape[0]
    n8 = n - n % 8
    for k in range(0, n8, 8):
        for u in range(8):
            x = np.float64(g[k + u])
            acc[u] += x * x
    for k in range(n8, n):
        x = np.float64(g[k])
        acc[0] += x * x
    s = 0.0
    for u in range(8):
        s += acc[u]
    return math.sqrt(s)


@_jit
def _stuck_limits(omb1, b2, omb2):
    """(KM, KV): the largest subnormal moments, in units of the smallest subnormal 2^-149,
    that a zero gradient leaves unchanged: m + (0 − m)·(1−β1) rounds back to m while
    k·(1−β1) ≤ 1/2, and v·β2 + (1−β2)·0² rounds back to v while k − k·β2 < 1/2 (each product
    exact in float64: k < 2^11 and a float32 factor)."""
    km = 0
    while km < 1024 and (km + 1) * np.float64(omb1) <= 0.5:
        km += 1
    kv = 0
    while kv < 1024 and (kv + 1) - (kv + 1) * np.float64(b2) < 0.5:
        kv += 1
    if omb2 != np.float32(0.0) and kv >= 1024:
        kv = 1023
    return km, kv


@_jit
def clip_adam_rows(P, G, M, V, rows, steps, lrs, beta1, beta2, eps, max_norm, norms):
    """For each row r in ``rows``: the pre-clip norm ‖G[r]‖ into ``norms``, the clip (if
    ``max_norm`` > 0, ``clip_grad_norm_``'s rule), then one Adam step at step count
    ``steps[r]`` (already advanced) with learning rate ``lrs[r]``.

    Speed without changing a bit: a parameter whose gradient is exactly 0 (a dead relu unit)
    decays its moments into the subnormal range, where they stop changing (the decrement
    rounds to 0), and every float operation on a subnormal costs a microcode assist on many
    CPUs (~20× slower). For such an element the result is known exactly: m and a stuck
    subnormal v are unchanged, and θ moves by less than half an ulp, so it is unchanged too.
    The loop computes those lanes with m (and such a v) replaced by 0, which gives θ and a
    normal v the same bits, and keeps the old m and v; every other element takes the plain
    update. The classification reads the bit patterns (integers), never a subnormal float."""
    omb1 = np.float32(1.0 - beta1)
    b2 = np.float32(beta2)
    omb2 = np.float32(1.0 - beta2)
    epsf = np.float32(eps)
    km, kv = _stuck_limits(omb1, b2, omb2)
    # thresholds as floats: comparisons take subnormal operands without an assist
    m_max = np.float32(km * 2.0**-149)
    v_max = np.float32(kv * 2.0**-149)
    v_min = np.float32(1.1754943508222875e-38)  # v·β2 stays normal (the plain path is cheap)
    if b2 > np.float32(0.0):
        v_min = np.float32(1.1754943508222875e-38 / np.float64(b2) * (1.0 + 1e-6))
    for k in range(rows.shape[0]):
        r = rows[k]
        g = G[r]
        norm = _l2_norm(g)
        norms[k] = norm
        if max_norm > 0.0:
            coef = max_norm / (norm + 1e-6)
            if coef < 1.0:
                c = np.float32(coef)
                for i in range(g.shape[0]):
                    g[i] = g[i] * c
        t = steps[r]
        step_size = np.float32(lrs[r] / (1.0 - _pow_int(beta1, t)))
        bc2_sqrt = np.float32(math.sqrt(1.0 - _pow_int(beta2, t)))
        p, m, v = P[r], M[r], V[r]
        # |θ| from which a step of at most step_size·(km·2^-149)/ε (with rounding margins) is
        # below a quarter ulp of θ; no fast lane when ε ≤ 0 or the bound is not finite
        p_min = np.float32(np.inf)
        if epsf > np.float32(0.0) and km > 0:
            bound = abs(np.float64(step_size)) * (km * 2.0**-149) / np.float64(epsf) * 4.0
            pm = bound * 2.0**25
            if math.isfinite(pm):
                p_min = np.float32(max(pm, 2.0**-120))
        for i in range(g.shape[0]):
            gi, m0, v0, p0 = g[i], m[i], v[i], p[i]
            ma = abs(m0)
            v_stuck = (v0 > np.float32(0.0)) & (v0 <= v_max)
            stuck = (
                (gi == np.float32(0.0)) & (ma > np.float32(0.0)) & (ma <= m_max)
                & (abs(p0) >= p_min) & ((v0 == np.float32(0.0)) | (v0 >= v_min) | v_stuck)
            )  # fmt: skip
            keep_v = stuck & v_stuck
            m_in = np.float32(0.0) if stuck else m0
            v_in = np.float32(0.0) if keep_v else v0
            mi = m_in + (gi - m_in) * omb1  # torch's lerp_(g, 1 − β1)
            vi = v_in * b2 + omb2 * (gi * gi)  # mul_(β2).addcmul_(g, g, 1 − β2)
            denom = np.sqrt(vi) / bc2_sqrt + epsf
            p[i] = p0 - step_size * (mi / denom)
            m[i] = m0 if stuck else mi
            v[i] = v0 if keep_v else vi


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
