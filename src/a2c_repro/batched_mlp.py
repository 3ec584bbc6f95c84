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

import torch

Tensor = torch.Tensor


def layer_shapes(n_in: int, hidden: tuple[int, ...], n_out: int) -> list[tuple[int, int]]:
    """(in, out) of each Linear layer of ``n_in → hidden… → n_out``."""
    sizes = (n_in, *hidden, n_out)
    return list(zip(sizes[:-1], sizes[1:]))


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
        h = torch.relu(z)
        acts.append(h)
    raise ValueError("an MLP needs at least one layer")


def backward(
    layers: list[tuple[Tensor, Tensor]], acts: list[Tensor], d_out: Tensor
) -> list[Tensor]:
    """Gradients of a scalar-per-seed loss given ``d_out`` = ∂loss/∂output (S, B, n_out).

    Returns gradients in layer order [dW_0, db_0, dW_1, db_1, …], shaped like the params."""
    grads: list[Tensor] = []
    dz = d_out
    for i in range(len(layers) - 1, -1, -1):
        w, _ = layers[i]
        h_prev = acts[i]
        d_w = torch.bmm(h_prev.transpose(1, 2), dz)
        d_b = dz.sum(dim=1, keepdim=True) if dz.shape[1] > 1 else dz
        grads.append(d_b)
        grads.append(d_w)
        if i > 0:
            dh = torch.bmm(dz, w.transpose(1, 2))
            dz = torch.ops.aten.threshold_backward(dh, h_prev, 0.0)  # relu': 1[h > 0]
    grads.reverse()
    return grads


class BatchedAdam:
    """Adam with per-seed state, on PyTorch's own fused Adam kernel.

    ``torch._fused_adam_`` is the kernel behind ``torch.optim.Adam(fused=True)`` (a test checks
    the two agree bit for bit). It updates a list of tensors, each with its own step count, so
    every (seed, layer) slice is one list entry carrying its seed's step: each seed has its own
    bias correction and nothing of one seed's update depends on another's.
        m ← β1·m + (1−β1)·g        v ← β2·v + (1−β2)·g²
        θ ← θ − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε)
    ``groups`` are (tensors, lr) pairs: actor and critic keep their own learning rates, i.e. two
    optimisers, as in the notebooks.
    """

    def __init__(self, groups: list[tuple[list[Tensor], float]], n_seeds: int,
                 beta1: float, beta2: float, eps: float) -> None:  # fmt: skip
        self.groups = groups
        self.m = [[torch.zeros_like(t) for t in ts] for ts, _ in groups]
        self.v = [[torch.zeros_like(t) for t in ts] for ts, _ in groups]
        self.steps = [torch.zeros((), dtype=torch.float32) for _ in range(n_seeds)]
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def step(self, grads: list[list[Tensor]], rows: list[int] | None = None) -> None:
        """One update of every seed (``rows=None``, grads (S, …)) or of the given seed rows
        (grads with one leading row per updated seed)."""
        idx = list(range(len(self.steps))) if rows is None else rows
        steps = [self.steps[i] for i in idx]
        torch._foreach_add_(steps, 1.0)
        for (ts, lr), m, v, gs in zip(self.groups, self.m, self.v, grads):
            par, gr, mm, vv, st = [], [], [], [], []
            for t, mt, vt, g in zip(ts, m, v, gs):
                par += [t[i] for i in idx]
                mm += [mt[i] for i in idx]
                vv += [vt[i] for i in idx]
                gr += g.unbind(0)
                st += steps
            torch._fused_adam_(
                par, gr, mm, vv, [], st, lr=lr, beta1=self.beta1, beta2=self.beta2,
                weight_decay=0.0, eps=self.eps, amsgrad=False, maximize=False,
            )  # fmt: skip


def grad_norms_and_clip(grads: list[Tensor], max_norm: float) -> Tensor:
    """Per-seed global L2 norm of one network's gradients (before clipping) and, if
    ``max_norm > 0``, ``torch.nn.utils.clip_grad_norm_``'s in-place rescaling:
    g ← g·min(1, max_norm/(‖g‖ + 1e-6))."""
    s = grads[0].shape[0]
    norm = torch.linalg.vector_norm(torch.cat([g.reshape(s, -1) for g in grads], 1), dim=1)
    if max_norm > 0:
        coef = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef.view(s, *([1] * (g.dim() - 1))))
    return norm
