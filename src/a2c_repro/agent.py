"""A group of independent actor-critic agents (one per seed) stored as seed-batched arrays:
parameters, gradients and Adam moments (the policy maths on their logits: policy.py)."""

from __future__ import annotations

import numpy as np

from . import batched_mlp as mlp
from .adam import clip_adam_rows
from .config import A2CConfig
from .policy import act_rows


class Net:
    """One network (the actor or the critic) of every seed: parameters, gradients and Adam
    moments as (S, n_params) float32 arrays, row s belonging to seed s."""

    def __init__(self, layout: mlp.Layout, n_seeds: int) -> None:
        self.layout = layout
        self.P = np.zeros((n_seeds, layout.n_params), np.float32)
        self.G, self.M, self.V = (np.zeros_like(self.P) for _ in range(3))

    def forward(self, x: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Activations (hi−lo, B, width) of rows lo:hi on x (hi−lo, B, n_in)."""
        lay = self.layout
        A = np.empty((x.shape[0], x.shape[1], lay.width), np.float32)
        mlp.forward_rows(self.P[lo:hi], lay.lay, lay.acol, np.ascontiguousarray(x), A)
        return A

    def backward(self, A: np.ndarray, d_out: np.ndarray, lo: int, hi: int) -> None:
        """Gradients of rows lo:hi into ``G`` from ∂loss/∂output d_out (hi−lo, B, n_out)."""
        lay = self.layout
        D = np.empty_like(A)
        D[..., lay.out_cols()] = d_out
        mlp.backward_rows(self.P[lo:hi], lay.lay, lay.acol, A, D, self.G[lo:hi])

    def keep(self, rows: list[int]) -> None:
        self.P, self.G, self.M, self.V = (a[rows] for a in (self.P, self.G, self.M, self.V))


class AgentGroup:
    """Actor and critic MLPs for S seeds, with per-seed Adam (one optimiser per network and
    per seed, each with its own learning rate and step count, as in the notebooks). A seed's
    rows never mix with another seed's, so any group gives each seed the same numbers."""

    def __init__(self, n_obs: int, n_actions: int, cfg: A2CConfig, init_seeds: list[int]):
        self.cfg, self.n_actions = cfg, n_actions
        S = len(init_seeds)
        self.actor = Net(mlp.Layout.of(n_obs, tuple(cfg.actor_hidden), n_actions), S)
        self.critic = Net(mlp.Layout.of(n_obs, tuple(cfg.critic_hidden), 1), S)
        for row, seed in enumerate(init_seeds):
            # The notebooks' A2C.__init__ builds the actor first, then the critic, from one
            # seeded generator; here a seed's own PCG64 stream (see seed_run.py).
            rng = np.random.Generator(np.random.PCG64(seed))
            mlp.default_init(self.actor.layout, self.actor.P[row], rng)
            mlp.default_init(self.critic.layout, self.critic.P[row], rng)
        self.steps = np.zeros(S)  # Adam step count per seed (actor and critic step together)

    @property
    def n_seeds(self) -> int:
        return self.steps.shape[0]

    def _span(self, row: int | None) -> tuple[int, int]:
        return (0, self.n_seeds) if row is None else (row, row + 1)

    # --- forward / backward -----------------------------------------------------------------
    def forward(
        self, x: np.ndarray, row: int | None = None, actor_acts: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, tuple]:
        """Policy logits (S, B, A) and values V (S, B) of observations x (S, B, n_obs), for all
        seeds or for seed ``row`` alone (then S = 1). The cache feeds ``backward``.
        ``actor_acts`` (S, B, width): the actor's activations on x, already computed by
        ``act`` with the same weights, are used instead of a second actor forward pass."""
        lo, hi = self._span(row)
        Aa = self.actor.forward(x, lo, hi) if actor_acts is None else actor_acts
        Ac = self.critic.forward(x, lo, hi)
        logits = Aa[..., self.actor.layout.out_cols()]
        return logits, Ac[..., -1], (row, Aa, Ac)

    def act(
        self, obs: np.ndarray, u: np.ndarray, row: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sample a ~ π(·|obs) for one observation per seed (obs (S, n_obs), uniforms u (S,)),
        or for seed ``row`` alone: the actions (S,) and the actor's activations (S, width), whose
        first n_obs columns are obs. An update may reuse those activations: a row's forward
        pass gives the same bits alone as inside a batch."""
        lo, hi = self._span(row)
        lay = self.actor.layout
        A = np.empty((hi - lo, 1, lay.width), np.float32)
        actions = np.empty(hi - lo, np.int64)
        x = np.ascontiguousarray(obs, dtype=np.float32).reshape(hi - lo, 1, -1)
        act_rows(self.actor.P[lo:hi], lay.lay, lay.acol, x, u, A, actions)
        return actions, A[:, 0]

    def policy_logits(self, x: np.ndarray, row: int | None = None) -> np.ndarray:
        """Policy logits (S, B, A) of x (S, B, n_obs): the actor alone, for acting."""
        lo, hi = self._span(row)
        return self.actor.forward(x, lo, hi)[..., self.actor.layout.out_cols()]

    def values(self, x: np.ndarray, row: int | None = None) -> np.ndarray:
        """V (S, B) of x (S, B, n_obs): the critic alone, for bootstrap values (no gradient)."""
        lo, hi = self._span(row)
        return self.critic.forward(x, lo, hi)[..., -1]

    def backward(self, cache: tuple, d_logits: np.ndarray, d_values: np.ndarray) -> int | None:
        """Write both networks' gradients from ∂L/∂logits (S, B, A) and ∂L/∂V (S, B); returns
        the row to pass to ``apply_gradients``."""
        row, Aa, Ac = cache
        lo, hi = self._span(row)
        self.actor.backward(Aa, d_logits, lo, hi)
        self.critic.backward(Ac, np.asarray(d_values, np.float32)[..., None], lo, hi)
        return row

    def apply_gradients(self, row: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Clip (if configured) and take one Adam step for every seed, or for seed ``row``,
        from the gradients ``backward`` wrote. Returns the pre-clip global gradient norms of
        actor and critic, per seed."""
        cfg = self.cfg
        lo, hi = self._span(row)
        rows = np.arange(lo, hi)
        self.steps[lo:hi] += 1.0
        norms = []
        for net, lr in ((self.actor, cfg.actor_lr), (self.critic, cfg.critic_lr)):
            out = np.empty(hi - lo)
            clip_adam_rows(
                net.P, net.G, net.M, net.V, rows, self.steps, np.full(self.n_seeds, lr),
                cfg.adam_beta1, cfg.adam_beta2, cfg.adam_eps, cfg.max_grad_norm, out,
            )  # fmt: skip
            norms.append(out)
        return norms[0], norms[1]

    def select(self, keep: list[int]) -> None:
        """Keep only the given seeds (seeds that finished leave the group)."""
        self.actor.keep(keep)
        self.critic.keep(keep)
        self.steps = self.steps[keep]

    # --- checkpoint helpers: one seed's full learner state -------------------------------
    def state_of(self, s: int) -> dict:
        return {
            name: {k: getattr(net, k)[s].copy() for k in ("P", "M", "V")}
            for name, net in (("actor", self.actor), ("critic", self.critic))
        } | {"steps": float(self.steps[s])}

    def load_row(self, s: int, st: dict) -> None:
        for name, net in (("actor", self.actor), ("critic", self.critic)):
            for k in ("P", "M", "V"):
                getattr(net, k)[s] = st[name][k]
        self.steps[s] = float(st["steps"])
