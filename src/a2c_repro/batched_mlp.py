"""Seed-batched MLPs: forward and backward passes as compiled loops (numba), one seed per row.

Why not ``nn.Module`` + autograd + ``torch.optim``?  The notebooks' networks are tiny (4→128→64→2),
so a notebook step costs 2–4 ms of PyTorch per-op overhead and almost no arithmetic.  Here the
parameters of one network of every seed are ONE float32 array ``P`` (S, n_params), row s holding
seed s's weights and biases back to back, and each pass below is one compiled call over all rows:

    z_l = b_l + h_{l-1} @ W_l         h_l = relu(z_l)                      forward_rows
    dW_l = Σ_t h_{l-1}ᵀ dz_l   db_l = Σ_t dz_l   dh_{l-1} = dz_l W_lᵀ   dz_{l-1} = dh·1[z>0]
                                                                        backward_rows

Clipping and Adam: adam.py; the policy (softmax, sampling): policy.py; how kernels are compiled
and why their bits are the same on every CPU: jit.py; exp and log: exact_math.py.
A weight matrix W_l is stored (in, out) row-major, so the forward inner loop runs along a row
of W and vectorises; the backward pass takes dot products along the same rows (one row)
or runs along the rows of a transposed copy (a batch). Initial weights come from NumPy's PCG64
bits, not from torch's CPU-dispatched uniform kernel.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .jit import kernel, load8


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


# ------------------------------------------------------------------------- forward pass ----
@kernel
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


@kernel
def forward_rows(P, lay, acol, X, A):
    """Forward pass of every row: ``X`` (S, B, n_in) → activations ``A`` (S, B, width) holding
    [x, h_1, …, output] side by side (the backward pass needs them)."""
    for r in range(P.shape[0]):
        _forward_row(P[r], lay, acol, X[r], A[r])


# ------------------------------------------------------------------------ backward pass ----


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
            xv, yv = load8(builder, xa.data, first, v8f), load8(builder, ya.data, first, v8f)
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


@kernel
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


@kernel
def backward_rows(P, lay, acol, A, D, G):
    """Gradients of a scalar-per-row loss. ``D`` (S, B, width) carries ∂loss/∂output in its
    output columns (the rest is scratch); the gradient of row r is written into ``G[r]``."""
    wt = np.empty(P.shape[1] if A.shape[1] > 1 else 0, np.float32)
    for r in range(P.shape[0]):
        _backward_row(P[r], lay, acol, A[r], D[r], G[r], wt)
