"""Episodic A2C — read next to ``episodic_a2c_lunarlander`` (``ActorCritic.train`` per episode).

During an episode each seed stores (s_t, a_t, r_t) — the notebook's ``store(r, v, log_prob)``.
At the episode's end, for that seed alone (its update never waits for, or touches, the others):

    vs_t    = V(s_t)                                         vs
    next_t  = V(s_{t+1}) detached, 0 after the last step     next_vs / GAMA
    G_t     = r_t + γ·next_t − vs_t          (detached)      G
    L_actor = −Σ_t G_t·log π(a_t|s_t)        [− c·Σ_t H_t]   actor_loss
    L_critic = mean_t (r_t + γ·next_t − vs_t)²               F.mse_loss(rs + next_vs, vs)
    one Adam step on each network

(names on the right: ``reference.ActorCritic.train_episode``, the notebook's code). The
gradients the kernels apply, by hand instead of autograd (tests check them against autograd):

    ∂L_actor/∂z_{t,j} = (π_{t,j} − 1[j = a_t])·w_t  [+ c·π_{t,j}(log π_{t,j} + H_t)]
                        w_t = G_t (``sum``) or Σ_u G_u (``notebook_broadcast``)
    ∂L_critic/∂vs_t   = 2·(vs_t − r_t − γ·next_t)/T

The last step is never bootstrapped, truncation included (the notebook's choice;
``bootstrap_on_truncation=True`` uses V(s_T) after a time-limit cut instead).

The notebook's actor loss broadcasts (T,)×(T,1) and so minimises −(Σ_t G_t)·(Σ_t log π_t):
the default here is the per-step form it evidently intends, ``actor_loss="notebook_broadcast"``
the literal code (docs/engine.md, "The variants, against the notebooks", says why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .config import A2CConfig
from .policy import categorical, policy_logit_grad

if TYPE_CHECKING:  # the driver calls the loops; they only use its runner interface
    from .runner import Runner


def episodic_targets(
    rewards: np.ndarray, values: np.ndarray, gamma: float, last_value: float = 0.0
) -> np.ndarray:
    """r_t + γ·next_t with next_t = V(s_{t+1}) for t < T−1 and ``last_value`` at T−1."""
    nxt = np.append(values[1:], np.float32(last_value))
    return rewards + nxt * np.float32(gamma)


def episode_update(
    agent,
    row: int,
    states: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    cfg: A2CConfig,
    final_obs: np.ndarray | None,
    actor_acts: np.ndarray | None = None,
) -> dict[str, float]:
    """One end-of-episode update of the seed in ``row``; returns the episode's statistics.
    ``actor_acts`` (T, width): the actor's activations recorded while acting (the weights have
    not changed since), so the actor's forward pass is not repeated."""
    T = len(rewards)
    A = None if actor_acts is None else actor_acts[None]
    logits, v, cache = agent.forward(states[None], row=row, actor_acts=A)  # (1, T, A), (1, T)
    logp, p, ent = categorical(logits[0])  # (T, A), (T, A), (T,)
    vs = v[0]
    last = 0.0
    if final_obs is not None:  # bootstrap_on_truncation after a time-limit cut
        last = float(agent.values(final_obs.reshape(1, 1, -1), row=row)[0, 0])
    target = episodic_targets(rewards, vs, cfg.gamma, last)
    G = target - vs
    logp_a = logp[np.arange(T), actions]
    if cfg.actor_loss == "sum":
        weight = G
        actor_loss = -(G * logp_a).sum()
    else:  # notebook_broadcast: −(Σ G)(Σ log π), every step weighted by the episode's Σ G
        weight = np.full(T, G.sum(), np.float32)
        actor_loss = -(G.sum() * logp_a.sum())
    # summed actor loss ⇒ summed entropy bonus; mean critic loss ⇒ dV_t = 2(V_t − target_t)/T
    d_logits = policy_logit_grad(logp, p, ent, actions, weight, cfg.entropy_coef)
    d_v = 2.0 * (vs - target) / np.float32(T)
    a_norm, c_norm = agent.apply_gradients(agent.backward(cache, d_logits[None], d_v[None]))
    return {
        "actor_loss": float(actor_loss),
        "critic_loss": float(np.square(target - vs).mean()),
        "entropy": float(ent.mean()),
        "abs_advantage": float(np.abs(G).mean()),
        "value_mean": float(vs.mean()),
        "actor_grad_norm": float(a_norm[0]),
        "critic_grad_norm": float(c_norm[0]),
        "top_prob_gt_099": float((p.max(-1) > 0.99).mean()),
    }


def run(tr: Runner) -> None:
    cfg = tr.cfg
    cap = tr.step_limit or 1024  # grown below for envs without a step limit
    n_obs = tr.n_obs
    width = tr.agent.actor.layout.width
    S = len(tr.runs)
    obs = np.stack([r.reset() for r in tr.runs])
    # per seed and step: the actor's activations while acting (s_t in the first n_obs columns)
    buf_h = [np.empty((cap, width), np.float32) for _ in range(S)]
    buf_a = [np.empty(cap, np.int64) for _ in range(S)]
    buf_r = [np.empty(cap, np.float32) for _ in range(S)]
    ep_ret = [0.0] * S  # float64 sums of the rewards, like the notebook's Python float
    ep_len = [0] * S
    while tr.runs:
        S = len(tr.runs)
        u = np.array([r.act_rng.random() for r in tr.runs], np.float32)
        actions, h = tr.agent.act(obs, u)
        acts = actions.tolist()
        ended = []
        next_obs = np.empty_like(obs)
        for i, run in enumerate(tr.runs):
            t = ep_len[i]
            if t == len(buf_r[i]):  # no step limit known: grow the buffers
                buf_h[i] = np.concatenate([buf_h[i], np.empty_like(buf_h[i])])
                buf_a[i] = np.concatenate([buf_a[i], np.empty_like(buf_a[i])])
                buf_r[i] = np.concatenate([buf_r[i], np.empty_like(buf_r[i])])
            buf_h[i][t] = h[i]
            buf_a[i][t] = acts[i]
            o, r, te, tu, _ = run.steppers[0].step(acts[i])
            buf_r[i][t] = r
            ep_ret[i] += float(r)
            ep_len[i] = t + 1
            next_obs[i] = o
            if te or tu:
                ended.append((i, bool(te), bool(tu)))
        tr.count_steps(S)
        obs = next_obs
        if ended:
            done_rows = []
            for i, te, tu in ended:
                T = ep_len[i]
                final = obs[i].copy() if (cfg.bootstrap_on_truncation and tu and not te) else None
                H = buf_h[i][:T]
                stats = episode_update(
                    tr.agent, i, H[:, :n_obs], buf_a[i][:T], buf_r[i][:T], cfg, final, H
                )
                majority = float(np.bincount(buf_a[i][:T]).max()) / T
                if tr.end_episode(i, ep_ret[i], T, stats, majority):
                    obs[i] = tr.runs[i].reset()
                else:
                    done_rows.append(i)
                ep_ret[i] = 0.0
                ep_len[i] = 0
            if done_rows:
                keep = tr.drop(done_rows)
                obs = obs[keep]
                ep_ret = [ep_ret[k] for k in keep]
                ep_len = [ep_len[k] for k in keep]
                buf_h = [buf_h[k] for k in keep]
                buf_a = [buf_a[k] for k in keep]
                buf_r = [buf_r[k] for k in keep]
            tr.maybe_checkpoint()
