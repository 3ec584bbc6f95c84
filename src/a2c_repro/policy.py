"""Policy maths on float32 logits, row by row: log-softmax, entropy, inverse-CDF sampling and
the policy-gradient of the actor loss. The networks that produce the logits: agent.py."""

from __future__ import annotations

import numpy as np

from . import batched_mlp as mlp

__all__ = ["categorical", "policy_logit_grad", "sample_actions"]


def categorical(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log π, π (…, A) and entropy H(π) (…) of float32 ``logits`` (…, A), row by row
    (log-softmax, so large logits stay finite)."""
    z = np.ascontiguousarray(logits, dtype=np.float32).reshape(-1, logits.shape[-1])
    logp, p = np.empty_like(z), np.empty_like(z)
    ent = np.empty(z.shape[0], np.float32)
    mlp.categorical_rows(z, logp, p, ent)
    return logp.reshape(logits.shape), p.reshape(logits.shape), ent.reshape(logits.shape[:-1])


def sample_actions(p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF sample a ~ π (…, A) from one float32 uniform per row (…): a = #{j : cdf_j < u}
    (``batched_mlp._sample``, the rule ``AgentGroup.act`` uses too).

    Each seed draws its uniforms from its own numpy stream, so its actions do not depend on
    the other seeds in the group (a shared generator would couple them), and each row is
    sampled on its own."""
    p2 = np.ascontiguousarray(p, dtype=np.float32).reshape(-1, p.shape[-1])
    out = np.empty(p2.shape[0], np.int64)
    mlp.sample_rows(p2, np.ascontiguousarray(u, dtype=np.float32).reshape(-1), out)
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
