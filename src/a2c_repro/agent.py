"""A group of independent actor-critic agents (one per seed) stored as seed-batched tensors."""

from __future__ import annotations

import numpy as np
import torch

from . import batched_mlp as mlp
from .config import A2CConfig

Tensor = torch.Tensor


def categorical_from_logits(logits: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """log π, π and entropy H(π) over the last dim (log-softmax keeps it stable)."""
    logp = torch.log_softmax(logits, dim=-1)
    p = logp.exp()
    return logp, p, entropy(p, logp)


def entropy(p, logp):
    """H(π) = −Σ_a π_a log π_a over the last dim, of numpy arrays or tensors."""
    return -(p * logp).sum(-1)


def categorical_np(logits: Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``categorical_from_logits`` for one observation per seed (logits (S, 1, A)),
    returned as numpy arrays log π, π (S, A) and H(π) (S,).

    The transcendental ops stay in torch (their rounding is torch's); the rest is numpy, whose
    per-call cost is a quarter of torch's on arrays this small. The entropy's elementwise
    product and sum over A round exactly as torch's for A ≤ 4, where both sum sequentially;
    for more actions torch's reduction order differs, so torch computes H (a test checks the
    bits for A = 2…9)."""
    logp_t = torch.log_softmax(logits, dim=-1)
    p_t = logp_t.exp()
    logp, p = logp_t.numpy()[:, 0], p_t.numpy()[:, 0]
    if p.shape[-1] > 4:
        return logp, p, entropy(p_t, logp_t).numpy()[:, 0]
    return logp, p, entropy(p, logp)


def sample_actions(p, u):
    """Inverse-CDF sample a ~ π from one uniform per row: a = #{j : cdf_j < u}.

    Each seed draws its uniforms from its own numpy stream, so its actions do not depend on
    the other seeds in the group (a shared torch generator would couple them). Works on
    numpy arrays and tensors alike, with the same bits (a sequential cumsum and a count)."""
    a = (p.cumsum(-1) < u[..., None]).sum(-1)
    a[a > p.shape[-1] - 1] = p.shape[-1] - 1
    return a


_EYES: dict[tuple[int, bool], Tensor | np.ndarray] = {}


def _eye(n: int, numpy: bool):
    if (n, numpy) not in _EYES:
        _EYES[n, numpy] = np.eye(n, dtype=np.float32) if numpy else torch.eye(n)
    return _EYES[n, numpy]


def policy_logit_grad(logp, p, ent, actions, weight, entropy_coef: float):
    """∂/∂logits of  −weight·log π(a|s) − c·H(π(·|s)), for numpy arrays or tensors.

    ∂log π(a)/∂z_j = 1[j=a] − π_j   and   ∂H/∂z_j = −π_j (log π_j + H)."""
    onehot = _eye(p.shape[-1], isinstance(p, np.ndarray))[actions]
    g = (p - onehot) * weight[..., None]
    if entropy_coef:
        g = g + (p * (logp + ent[..., None])) * entropy_coef
    return g


class AgentGroup:
    """Actor and critic MLPs for S seeds, as seed-batched tensors, with per-seed Adam.

    When actor and critic have the same hidden sizes (every notebook setting), both live in
    ONE stack of layer tensors with 2S rows — row 2s is seed s's actor, row 2s+1 its critic
    (whose output layer is padded with zero columns that never receive a gradient) — so one
    batched op serves both networks of every seed. Otherwise they are two stacks of S rows.
    Either way each network keeps its own learning rate and gradient-norm clipping, exactly as
    the notebooks' two optimisers would, and a seed's rows never mix with another seed's.
    """

    def __init__(self, n_obs: int, n_actions: int, cfg: A2CConfig, init_seeds: list[int]):
        self.cfg, self.n_actions = cfg, n_actions
        S = len(init_seeds)
        self.merged = tuple(cfg.actor_hidden) == tuple(cfg.critic_hidden)
        a_shapes = mlp.layer_shapes(n_obs, cfg.actor_hidden, n_actions)
        c_shapes = mlp.layer_shapes(n_obs, cfg.critic_hidden, 1)
        actor = mlp.new_layers(a_shapes, S)
        critic = mlp.new_layers(c_shapes, S)
        for row, seed in enumerate(init_seeds):
            mlp.default_init([actor, critic], row, seed)
        if self.merged:
            net = mlp.new_layers(a_shapes, 2 * S)
            for (w, b), (wa, ba), (wc, bc) in zip(net, actor, critic):
                w[0::2], b[0::2] = wa, ba
                w[1::2, :, : wc.shape[2]], b[1::2, :, : bc.shape[2]] = wc, bc
            self.stacks = [net]
        else:
            self.stacks = [actor, critic]
        self._actor: list[tuple[Tensor, Tensor]] | None = None  # see policy_logits
        self._make_adam(S)

    # --- layout ---------------------------------------------------------------------------
    def _tensors(self) -> list[Tensor]:
        return [t for stack in self.stacks for pair in stack for t in pair]

    def _make_adam(self, n_seeds: int) -> None:
        cfg = self.cfg
        betas = (cfg.adam_beta1, cfg.adam_beta2, cfg.adam_eps)
        self.grads = [mlp.FlatGrads([tuple(w.shape[1:]) for w, _ in st], st[0][0].shape[0])
                      for st in self.stacks]  # fmt: skip
        self._grad_views = [g.layer_views() for g in self.grads]
        if self.merged:
            row_seed = [r // 2 for r in range(2 * n_seeds)]
            row_lr = [cfg.actor_lr if r % 2 == 0 else cfg.critic_lr for r in range(2 * n_seeds)]
            self.adams = [mlp.BatchedAdam(self._tensors(), self.grads[0], row_seed, row_lr,
                                          n_seeds, *betas)]  # fmt: skip
        else:
            self.adams = []
            for k, lr in enumerate((cfg.actor_lr, cfg.critic_lr)):
                ts = [t for pair in self.stacks[k] for t in pair]
                self.adams.append(mlp.BatchedAdam(ts, self.grads[k], list(range(n_seeds)),
                                                  [lr] * n_seeds, n_seeds, *betas,
                                                  owns_steps=k == 0))  # fmt: skip
            self.adams[1].set_counts(self.adams[0].counts)  # one step count per seed

    # --- forward / backward -----------------------------------------------------------------
    def _span(self, row: int | None) -> tuple[int, int | None]:
        if row is None:
            return 0, None
        return (2 * row, 2 * row + 2) if self.merged else (row, row + 1)

    def forward(self, x: Tensor, row: int | None = None) -> tuple[Tensor, Tensor, tuple]:
        """Policy logits (S, B, A) and values V (S, B) of observations x (S, B, n_obs), for all
        seeds or for seed ``row`` alone (then S = 1). The cache feeds ``backward``."""
        lo, hi = self._span(row)
        stacks = self.stacks if row is None else [
            [(w[lo:hi], b[lo:hi]) for w, b in st] for st in self.stacks
        ]  # fmt: skip
        if self.merged:
            x2 = torch.from_numpy(np.repeat(x.numpy(), 2, axis=0))  # rows s,s,…
            out, acts = mlp.forward(stacks[0], x2)
            return out[0::2], out[1::2, :, 0], (row, stacks, [acts])
        logits, a_acts = mlp.forward(stacks[0], x)
        v, c_acts = mlp.forward(stacks[1], x)
        return logits, v[..., 0], (row, stacks, [a_acts, c_acts])

    def policy_logits(self, x: Tensor, row: int | None = None) -> Tensor:
        """Policy logits (S, B, A) of x (S, B, n_obs) for all seeds or seed ``row`` — the
        actor alone, for acting (episodic rollouts, evaluation episodes), where the critic's
        half of a merged forward would be wasted. Bit for bit the logits of ``forward``: the
        actor rows are copied into their own contiguous stack, and a row's product does not
        depend on the other rows of the batch."""
        actor = self._actor_stack()
        if row is not None:
            actor = [(w[row : row + 1], b[row : row + 1]) for w, b in actor]
        return mlp.forward(actor, x)[0]

    def _actor_stack(self) -> list[tuple[Tensor, Tensor]]:
        if not self.merged:
            return self.stacks[0]
        if self._actor is None:
            self._actor = [(w[0::2].contiguous(), b[0::2].contiguous()) for w, b in self.stacks[0]]
        return self._actor

    def _actor_changed(self, row: int | None) -> None:
        """Keep the actor copy in step with the weights: one row is copied again (an episodic
        update), anything more drops the copy until it is next needed."""
        if self._actor is None:
            return
        if row is None:
            self._actor = None
            return
        actor_row = self._span(row)[0]  # the seed's actor row in the merged stack
        for (aw, ab), (w, b) in zip(self._actor, self.stacks[0]):
            aw[row].copy_(w[actor_row])
            ab[row].copy_(b[actor_row])

    def backward(self, cache: tuple, d_logits: Tensor, d_values: Tensor) -> int | None:
        """Write the gradients of every network from ∂L/∂logits (S, B, A) and ∂L/∂V (S, B)
        (numpy arrays or tensors) into the gradient buffers; returns the row to pass to ``apply_gradients``."""
        row, stacks, acts = cache
        lo, hi = self._span(row)
        views = self._grad_views if row is None else [g.layer_views(lo, hi) for g in self.grads]
        if self.merged:
            dl = np.asarray(d_logits)
            d_out = np.zeros((2 * dl.shape[0], *dl.shape[1:]), np.float32)  # rows a0,c0,a1,c1…
            d_out[0::2] = dl
            d_out[1::2, :, 0] = np.asarray(d_values)  # the critic's padded columns get 0
            mlp.backward(stacks[0], acts[0], torch.from_numpy(d_out), views[0])
        else:
            d_logits, d_values = torch.as_tensor(d_logits), torch.as_tensor(d_values)
            mlp.backward(stacks[0], acts[0], d_logits, views[0])
            mlp.backward(stacks[1], acts[1], d_values.unsqueeze(-1), views[1])
        return row

    def apply_gradients(self, row: int | None = None) -> tuple[Tensor, Tensor]:
        """Clip (if configured) and take one Adam step for every seed, or for seed ``row``,
        from the gradients ``backward`` wrote. Returns the pre-clip global gradient norms of
        actor and critic, per seed."""
        mx = self.cfg.max_grad_norm
        lo, hi = self._span(row)
        if self.merged:
            norms = mlp.row_norms_and_clip(self.grads[0].flat[lo:hi], mx).view(-1, 2)
            a_norm, c_norm = norms[:, 0], norms[:, 1]
        else:
            a_norm = mlp.row_norms_and_clip(self.grads[0].flat[lo:hi], mx)
            c_norm = mlp.row_norms_and_clip(self.grads[1].flat[lo:hi], mx)
        rows = None if row is None else list(range(lo, hi))
        for adam in self.adams:
            adam.step(rows)
        self._actor_changed(row)
        return a_norm, c_norm

    def select(self, keep: list[int]) -> None:
        """Keep only the given seeds (seeds that finished leave the group)."""
        rows = [r for s in keep for r in range(*self._span(s))]
        old = self.adams
        counts = old[0].counts[keep].clone()
        self.stacks = [[(w[rows].contiguous(), b[rows].contiguous()) for w, b in st]
                       for st in self.stacks]  # fmt: skip
        self._actor = None
        self._make_adam(len(keep))
        for new, o in zip(self.adams, old):
            new.m = [t[rows].contiguous() for t in o.m]
            new.v = [t[rows].contiguous() for t in o.v]
            new.set_counts(counts)

    # --- checkpoint helpers: one seed's full learner state -------------------------------
    def state_of(self, s: int) -> dict:
        lo, hi = self._span(s)
        return {
            "params": [t[lo:hi].clone() for t in self._tensors()],
            "m": [t[lo:hi].clone() for a in self.adams for t in a.m],
            "v": [t[lo:hi].clone() for a in self.adams for t in a.v],
            "steps": float(self.adams[0].steps[s]),
        }

    def load_row(self, s: int, st: dict) -> None:
        lo, hi = self._span(s)
        ms = [t for a in self.adams for t in a.m]
        vs = [t for a in self.adams for t in a.v]
        for key, ts in (("params", self._tensors()), ("m", ms), ("v", vs)):
            for t, saved in zip(ts, st[key]):
                t[lo:hi].copy_(saved)
        self.adams[0].steps[s].fill_(float(st["steps"]))
        self._actor = None
