"""Seed-batched MLPs with hand-written backward passes and a seed-batched Adam.

Why not ``nn.Module`` + autograd + ``torch.optim``?  The notebooks' networks are tiny (4→128→64→2),
so a notebook step costs 2–4 ms of PyTorch per-op overhead and almost no arithmetic.  Here every
layer is ONE tensor with a leading seed dimension ``S`` and every op runs once for all seeds:

    z_l = b_l + h_{l-1} @ W_l          (torch.baddbmm, shapes (S,B,in) @ (S,in,out))
    h_l = relu(z_l)

The backward pass is the textbook one (no autograd graph to build):

    dW_l = h_{l-1}^T @ dz_l     db_l = Σ_B dz_l     dh_{l-1} = dz_l @ W_l^T     dz_{l-1} = dh_{l-1}·1[z>0]

Grouping invariance (a seed's numbers do not depend on which other seeds share the batch) rests
on two measured facts about PyTorch's CPU kernels: a slice of a batched ``bmm``/``baddbmm`` equals
the one-seed product bit for bit, and elementwise/row-wise ops treat every element alike.  So no
tensor shape here may depend on the group except the leading ``S``; tests check the invariance.

Every layer tensor is contiguous. (Weights that were strided views into one flat buffer made
``bmm`` pick a different kernel for S = 1 than for S > 1 — a 1-ulp difference that grows; the
tests catch exactly that.)
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

Tensor = torch.Tensor


def layer_shapes(n_in: int, hidden: tuple[int, ...], n_out: int) -> list[tuple[int, int]]:
    """(in, out) of each Linear layer of ``n_in → hidden… → n_out``."""
    sizes = (n_in, *hidden, n_out)
    return list(itertools.pairwise(sizes))


def new_layers(shapes: list[tuple[int, int]], n_seeds: int) -> list[tuple[Tensor, Tensor]]:
    """Zeroed weight (S, in, out) and bias (S, 1, out) tensors, one pair per layer."""
    return [(torch.zeros(n_seeds, a, b), torch.zeros(n_seeds, 1, b)) for a, b in shapes]


def default_init(nets: list[list[tuple[Tensor, Tensor]]], row: int, init_seed: int) -> None:
    """Initialise seed ``row`` of each net exactly as the notebooks' ``nn.Linear`` layers are.

    We build real ``torch.nn.Linear`` layers (actor first, then critic, as the notebook's
    ``A2C.__init__`` does) under ``torch.manual_seed(init_seed)`` inside a forked RNG, so the
    draws are PyTorch's default init itself: U(−1/√fan_in, 1/√fan_in) for weight and bias.
    The episodic notebook applies an unpublished ``utils.init_weights``; it cannot be
    reproduced, so both variants use this default (documented in the README).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        for layers in nets:
            for w, b in layers:
                lin = torch.nn.Linear(w.shape[1], w.shape[2])
                w[row].copy_(lin.weight.detach().t())  # stored (in, out) for x @ W
                b[row, 0].copy_(lin.bias.detach())


def forward(layers: list[tuple[Tensor, Tensor]], x: Tensor) -> tuple[Tensor, list[Tensor]]:
    """Batched MLP forward. ``x`` is (S, B, n_in); returns output (S, B, n_out) and the
    activations [x, h_1, …, h_{L-1}] that the backward pass needs."""
    acts = [x]
    h = x
    last = len(layers) - 1
    for i, (w, b) in enumerate(layers):
        z = torch.baddbmm(b, h, w)
        if i == last:
            return z, acts
        zn = z.numpy()
        np.maximum(zn, np.float32(0.0), out=zn)  # relu in place: numpy's call costs ~1/4
        h = z
        acts.append(h)
    raise ValueError("an MLP needs at least one layer")


def row_sum(x: Tensor, out: Tensor | None = None) -> Tensor:
    """Σ over dim 1 of (S, B, k) → (S, 1, k) as a ``bmm`` with ones: a reduction whose order
    does not depend on S (``Tensor.sum`` picks its kernel from the whole shape)."""
    return torch.bmm(torch.ones(x.shape[0], 1, x.shape[1], dtype=x.dtype), x, out=out)


def row_mean(x: Tensor) -> Tensor:
    """Mean over dim 1 of (S, B) → (S,), with the same S-independent reduction order."""
    return row_sum(x.unsqueeze(2)).view(-1) / x.shape[1]


def backward(
    layers: list[tuple[Tensor, Tensor]],
    acts: list[Tensor],
    d_out: Tensor,
    out: list[tuple[Tensor, Tensor]],
) -> None:
    """Gradients of a scalar-per-row loss given ``d_out`` = ∂loss/∂output (R, B, n_out),
    written into ``out`` = [(dW_0, db_0), …] (views into a flat (R, P) gradient buffer)."""
    dz = d_out
    for i in range(len(layers) - 1, -1, -1):
        w, _ = layers[i]
        h_prev = acts[i]
        g_w, g_b = out[i]
        if dz.shape[1] > 1:
            torch.bmm(h_prev.transpose(1, 2), dz, out=g_w)
            row_sum(dz, out=g_b)
        else:  # one row: h^T dz is an outer product, each entry ONE rounded product either way
            torch.mul(h_prev.transpose(1, 2), dz, out=g_w)  # 3x faster than bmm here
            np.copyto(g_b.numpy(), dz.numpy())
        if i > 0:  # dz_{l-1} = dh·1[h > 0]: relu's own backward op (exact zeros elsewhere)
            dz = torch.ops.aten.threshold_backward(torch.bmm(dz, w.transpose(1, 2)), h_prev, 0.0)


class FlatGrads:
    """One (R, P) gradient buffer whose row r holds every layer's gradient of row r; the
    per-layer (R, in, out) views receive ``backward``'s results, so per-row norms, clipping
    and the optimiser's per-row views need no copies."""

    def __init__(self, shapes: list[tuple[int, int]], n_rows: int) -> None:
        self.shapes = shapes
        self.offsets = []
        pos = 0
        for a, b in shapes:
            self.offsets.append((pos, pos + a * b))
            pos += a * b + b
        self.flat = torch.zeros(n_rows, pos)

    def layer_views(self, lo: int = 0, hi: int | None = None) -> list[tuple[Tensor, Tensor]]:
        f = self.flat[lo:hi]
        r = f.shape[0]
        return [
            (f[:, w0 : w0 + a * b].view(r, a, b), f[:, b0 : b0 + b].view(r, 1, b))
            for (a, b), (w0, b0) in zip(self.shapes, self.offsets)
        ]

    def row_views(self, r: int) -> list[Tensor]:
        """Row r's gradient of each param tensor, in [W_0, b_0, W_1, …] order."""
        out = []
        for (a, b), (w0, b0) in zip(self.shapes, self.offsets):
            out += [self.flat[r, w0 : w0 + a * b].view(a, b), self.flat[r, b0 : b0 + b].view(1, b)]
        return out


class BatchedAdam:
    """Adam with per-seed state, on PyTorch's own fused Adam kernel.

    ``torch._fused_adam_`` is the kernel behind ``torch.optim.Adam(fused=True)`` (a test checks
    the two agree bit for bit). It updates a list of tensors, each with its own step count, so
    every (layer, row) slice is one list entry carrying its seed's step: each seed has its own
    bias correction and nothing of one seed's update depends on another's.
        m ← β1·m + (1−β1)·g        v ← β2·v + (1−β2)·g²
        θ ← θ − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε)

    ``tensors`` ([W_0, b_0, …]) all have R rows; ``row_seed[r]`` is the seed owning row r and
    ``row_lr[r]`` its learning rate (actor and critic rows keep their own: two optimisers, as
    in the notebooks). Gradients are read from ``grads`` (a FlatGrads of the same rows).
    """

    def __init__(self, tensors: list[Tensor], grads: FlatGrads, row_seed: list[int],
                 row_lr: list[float], n_seeds: int, beta1: float, beta2: float, eps: float,
                 owns_steps: bool = True) -> None:  # fmt: skip
        self.tensors, self.grads = tensors, grads
        self.row_seed, self.row_lr = row_seed, row_lr
        self.owns_steps = owns_steps  # False: another optimiser advances the shared counts
        self.m = [torch.zeros_like(t) for t in tensors]
        self.v = [torch.zeros_like(t) for t in tensors]
        self.set_counts(torch.zeros(n_seeds))
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def set_counts(self, counts: Tensor) -> None:
        """Use ``counts`` (n_seeds,) as the per-seed step counts. The kernel takes one 0-d
        tensor per list entry: those are views into ``counts``, so advancing every seed is
        ONE ``add_`` (a ``_foreach_add_`` over S scalars costs ~4 µs per seed on the CPU)."""
        self.counts = counts
        self.steps = list(counts.unbind())
        self._cache = None

    def _lists(self, rows: list[int]) -> list[tuple]:
        """Per learning rate: the kernel's argument lists for ``rows``."""
        out = []
        for lr in sorted({self.row_lr[r] for r in rows}):
            rs = [r for r in rows if self.row_lr[r] == lr]
            par, gr, mm, vv, st = [], [], [], [], []
            for r in rs:
                par += [t[r] for t in self.tensors]
                mm += [t[r] for t in self.m]
                vv += [t[r] for t in self.v]
                gr += self.grads.row_views(r)
                st += [self.steps[self.row_seed[r]]] * len(self.tensors)
            out.append((lr, par, gr, mm, vv, st))
        return out

    def step(self, rows: list[int] | None = None) -> None:
        """One update of every row (``rows=None``) or of the given rows only."""
        if rows is None:
            if self._cache is None:
                self._cache = self._lists(list(range(len(self.row_seed))))
            groups = self._cache
            if self.owns_steps:
                self.counts.add_(1.0)
        else:
            groups = self._lists(rows)
            if self.owns_steps:
                for s in sorted({self.row_seed[r] for r in rows}):
                    self.steps[s].add_(1.0)
        for lr, par, gr, mm, vv, st in groups:
            torch._fused_adam_(
                par, gr, mm, vv, [], st, lr=lr, beta1=self.beta1, beta2=self.beta2,
                weight_decay=0.0, eps=self.eps, amsgrad=False, maximize=False,
            )  # fmt: skip


def row_norms_and_clip(flat: Tensor, max_norm: float) -> Tensor:
    """Global L2 norm of each row of a flat gradient buffer (one row = one network of one
    seed), before clipping; if ``max_norm > 0`` also ``torch.nn.utils.clip_grad_norm_``'s
    in-place rescaling g ← g·min(1, max_norm/(‖g‖ + 1e-6)) per row."""
    norm = torch.linalg.vector_norm(flat, dim=1)
    if max_norm > 0:
        flat.mul_(torch.clamp(max_norm / (norm + 1e-6), max=1.0).unsqueeze(1))
    return norm
