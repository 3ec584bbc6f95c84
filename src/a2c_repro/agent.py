"""A group of independent actor-critic agents (one per seed) stored as seed-batched tensors."""

from __future__ import annotations

import torch

from . import batched_mlp as mlp
from .config import A2CConfig

Tensor = torch.Tensor


def categorical_from_logits(logits: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """log π, π and entropy H(π) over the last dim (log-softmax keeps it stable)."""
    logp = torch.log_softmax(logits, dim=-1)
    p = logp.exp()
    ent = -(p * logp).sum(-1)
    return logp, p, ent


def sample_actions(p: Tensor, u: Tensor) -> Tensor:
    """Inverse-CDF sample a ~ π from one uniform per row: a = #{j : cdf_j < u}.

    Each seed draws its uniforms from its own numpy stream, so its actions do not depend on
    the other seeds in the group (a shared torch generator would couple them)."""
    cdf = p.cumsum(-1)
    a = (cdf < u.unsqueeze(-1)).sum(-1)
    return a.clamp_(max=p.shape[-1] - 1)


def policy_logit_grad(
    logp: Tensor, p: Tensor, ent: Tensor, actions: Tensor, weight: Tensor, entropy_coef: float
) -> Tensor:
    """∂/∂logits of  −weight·log π(a|s) − c·H(π(·|s)).

    ∂log π(a)/∂z_j = 1[j=a] − π_j   and   ∂H/∂z_j = −π_j (log π_j + H)."""
    onehot = torch.zeros_like(p).scatter_(-1, actions.unsqueeze(-1), 1.0)
    g = (p - onehot) * weight.unsqueeze(-1)
    if entropy_coef:
        g = g + (p * (logp + ent.unsqueeze(-1))) * entropy_coef
    return g


class AgentGroup:
    """Actor and critic MLPs for S seeds: per layer one (S, in, out) weight and one (S, 1, out)
    bias tensor, with a per-seed Adam. The two networks keep separate learning rates and
    separate gradient-norm clipping, exactly as the notebooks' two optimisers would."""

    def __init__(self, n_obs: int, n_actions: int, cfg: A2CConfig, init_seeds: list[int]):
        self.cfg = cfg
        S = len(init_seeds)
        self.actor = mlp.new_layers(mlp.layer_shapes(n_obs, cfg.actor_hidden, n_actions), S)
        self.critic = mlp.new_layers(mlp.layer_shapes(n_obs, cfg.critic_hidden, 1), S)
        for row, seed in enumerate(init_seeds):
            mlp.default_init([self.actor, self.critic], row, seed)
        self._make_adam(S)

    def _make_adam(self, n_seeds: int) -> None:
        flat = lambda layers: [t for pair in layers for t in pair]  # noqa: E731
        self.adam = mlp.BatchedAdam(
            [(flat(self.actor), self.cfg.actor_lr), (flat(self.critic), self.cfg.critic_lr)],
            n_seeds, self.cfg.adam_beta1, self.cfg.adam_beta2, self.cfg.adam_eps,
        )  # fmt: skip

    @property
    def n_seeds(self) -> int:
        return len(self.adam.steps)

    def rows(self, r: int) -> tuple[list, list]:
        """Actor and critic layers of seed row ``r`` alone (a batch of one, contiguous)."""
        one = lambda layers: [(w[r : r + 1], b[r : r + 1]) for w, b in layers]  # noqa: E731
        return one(self.actor), one(self.critic)

    def apply_gradients(
        self, actor_grads: list[Tensor], critic_grads: list[Tensor], row: int | None = None
    ) -> tuple[Tensor, Tensor]:
        """Clip (if configured) and take one Adam step for every seed, or for one ``row``.
        Returns the pre-clip global grad norms of actor and critic, per seed."""
        a_norm = mlp.grad_norms_and_clip(actor_grads, self.cfg.max_grad_norm)
        c_norm = mlp.grad_norms_and_clip(critic_grads, self.cfg.max_grad_norm)
        self.adam.step([actor_grads, critic_grads], None if row is None else [row])
        return a_norm, c_norm

    def _tensors(self) -> list[list[Tensor]]:
        """[params, m, v] as flat lists, in a fixed order."""
        ps = [t for ts, _ in self.adam.groups for t in ts]
        ms = [t for g in self.adam.m for t in g]
        vs = [t for g in self.adam.v for t in g]
        return [ps, ms, vs]

    def select(self, keep: list[int]) -> None:
        """Keep only the given seed rows (seeds that finished leave the group)."""
        pick = lambda layers: [(w[keep].contiguous(), b[keep].contiguous()) for w, b in layers]  # noqa: E731
        old_m, old_v, old_steps = self.adam.m, self.adam.v, self.adam.steps
        self.actor, self.critic = pick(self.actor), pick(self.critic)
        self._make_adam(len(keep))
        self.adam.m = [[t[keep].contiguous() for t in g] for g in old_m]
        self.adam.v = [[t[keep].contiguous() for t in g] for g in old_v]
        self.adam.steps = [old_steps[i] for i in keep]

    # --- checkpoint helpers: one seed's full learner state -------------------------------
    def state_of(self, r: int) -> dict:
        ps, ms, vs = self._tensors()
        return {
            "params": [t[r].clone() for t in ps],
            "m": [t[r].clone() for t in ms],
            "v": [t[r].clone() for t in vs],
            "steps": float(self.adam.steps[r]),
        }

    def load_row(self, r: int, st: dict) -> None:
        for key, ts in zip(("params", "m", "v"), self._tensors()):
            for t, saved in zip(ts, st[key]):
                t[r].copy_(saved)
        self.adam.steps[r].fill_(float(st["steps"]))
