"""Policy maths on float32 logits, row by row: log-softmax, entropy, inverse-CDF sampling and
the policy-gradient of the actor loss — the compiled kernels the training loops call
(``categorical_rows``, ``act_rows``, ``sample_rows``) and their NumPy-facing wrappers. The
networks that produce the logits: batched_mlp.py, agent.py."""

from __future__ import annotations

import numpy as np

from .batched_mlp import forward_rows
from .exact_math import _exp, _log
from .jit import kernel

__all__ = ["act_rows", "categorical", "categorical_rows", "policy_logit_grad", "sample_actions",
           "sample_rows"]  # fmt: skip


@kernel
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


@kernel
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


@kernel
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


@kernel
def sample_rows(p, u, actions):
    """``_sample`` for every row of ``p`` (N, A) with its uniform ``u[r]``."""
    for r in range(p.shape[0]):
        actions[r] = _sample(p[r], u[r])


def categorical(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log π, π (…, A) and entropy H(π) (…) of float32 ``logits`` (…, A), row by row
    (log-softmax, so large logits stay finite)."""
    z = np.ascontiguousarray(logits, dtype=np.float32).reshape(-1, logits.shape[-1])
    logp, p = np.empty_like(z), np.empty_like(z)
    ent = np.empty(z.shape[0], np.float32)
    categorical_rows(z, logp, p, ent)
    return logp.reshape(logits.shape), p.reshape(logits.shape), ent.reshape(logits.shape[:-1])


def sample_actions(p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF sample a ~ π (…, A) from one float32 uniform per row (…): a = #{j : cdf_j < u}
    (``_sample``, the rule ``AgentGroup.act`` uses too).

    Each seed draws its uniforms from its own numpy stream, so its actions do not depend on
    the other seeds in the group (a shared generator would couple them), and each row is
    sampled on its own."""
    p2 = np.ascontiguousarray(p, dtype=np.float32).reshape(-1, p.shape[-1])
    out = np.empty(p2.shape[0], np.int64)
    sample_rows(p2, np.ascontiguousarray(u, dtype=np.float32).reshape(-1), out)
    return out.reshape(p.shape[:-1])


_EYES: dict[int, np.ndarray] = {}


def policy_logit_grad(logp, p, ent, actions, weight, entropy_coef: float) -> np.ndarray:
    """∂/∂logits of  −weight·log π(a|s) − c·H(π(·|s)).

    ∂log π(a)/∂z_j = 1[j=a] − π_j   and   ∂H/∂z_j = −π_j (log π_j + H)."""
    n = p.shape[-1]
    if n not in _EYES:
        _EYES[n] = np.eye(n, dtype=np.float32)
    g = (p - _EYES[n][actions]) * weight[..., None]
    if entropy_coef:
        g = g + (p * (logp + ent[..., None])) * np.float32(entropy_coef)
    return g
