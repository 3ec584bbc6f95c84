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
from .jit import kernel
from .lockstep import SeedEnvs, act_on_next_uniforms, keep_rows, step_twins
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


@kernel
def _act_and_store(Pa, lay, acol, obs, U, buf, actions):
    """One acting step of every row (with its episode's next uniform), storing h_t and a_t in
    the row's episode buffers."""
    H, acts, ep_len = buf[0], buf[1], buf[4]
    Aa = np.empty((obs.shape[0], 1, H.shape[2]), np.float32)
    act_on_next_uniforms(Pa, lay, acol, obs, U, ep_len, Aa, actions)
    for r in range(obs.shape[0]):
        H[r, ep_len[r]] = Aa[r, 0]
        acts[r, ep_len[r]] = actions[r]


@kernel
def _store_outcomes(rew, term, trunc, buf, ended, truncated):
    """Store every row's r_t (float32) and its float64 return, advance the step counts, and
    flag the episodes that ended; True when any did."""
    rews, ep_ret, ep_len = buf[2], buf[3], buf[4]
    any_ended = False
    for r in range(rew.shape[0]):
        rews[r, ep_len[r]] = np.float32(rew[r])
        ep_ret[r] += rew[r]  # float64 sum, like the notebook's Python float
        ep_len[r] += 1
        truncated[r] = trunc[r] and not term[r]
        ended[r] = term[r] or trunc[r]
        any_ended = any_ended or ended[r]
    return any_ended


@kernel
def _act_until_an_episode_ends(kind, limit, state, elapsed, U, obs, Pa, lay, acol, buf,
                               ended, truncated):  # fmt: skip
    """Lockstep steps of every row — act and store (h_t, a_t), the env's compiled twin step,
    store r_t — until at least one row's episode ends; returns the number of steps taken.
    ``obs`` (S, 1, n_obs) is advanced in place."""
    S = state.shape[0]
    actions = np.empty(S, np.int64)
    rew = np.empty(S)
    term, trunc = np.empty(S, np.bool_), np.empty(S, np.bool_)
    n = 0
    while True:
        _act_and_store(Pa, lay, acol, obs, U, buf, actions)
        step_twins(kind, limit, state, elapsed, actions, obs, rew, term, trunc)
        n += 1
        if _store_outcomes(rew, term, trunc, buf, ended, truncated):
            return n


def run(tr: Runner) -> None:
    # Twinned envs (CartPole, Acrobot): one compiled call acts and steps every seed until an
    # episode ends. Other envs: one compiled call to act per lockstep, the envs in Python.
    # Each finished episode is then learned from by its seed alone (``episode_update``).
    cfg = tr.cfg
    n_obs = tr.n_obs
    lay = tr.agent.actor.layout
    S = len(tr.runs)
    envs = SeedEnvs(tr.runs, tr.step_limit)
    obs = np.stack([envs.reset(i, r) for i, r in enumerate(tr.runs)])[:, None]  # (S, 1, n_obs)
    cap = envs.U.shape[1]
    # per seed and step: the actor's activations while acting (s_t in the first n_obs
    # columns), the action and the reward; the return (float64) and length so far
    buf = (np.empty((S, cap, lay.width), np.float32), np.empty((S, cap), np.int64),
           np.empty((S, cap), np.float32), np.zeros(S), np.zeros(S, np.int64))  # fmt: skip
    ended, truncated = np.zeros(S, bool), np.zeros(S, bool)
    while tr.runs:
        S = len(tr.runs)
        H, acts, rews, ep_ret, ep_len = buf
        if envs.twinned:
            n = _act_until_an_episode_ends(
                envs.kind, envs.limit, envs.state, envs.elapsed, envs.U, obs, tr.agent.actor.P,
                lay.lay, lay.acol, buf, ended, truncated,
            )  # fmt: skip
            tr.count_steps(S * n)
        else:
            if int(ep_len.max()) >= envs.U.shape[1]:  # no step limit: more uniforms, room
                envs.grow(tr.runs)
                buf = tuple(np.concatenate([b, np.empty_like(b)], axis=1) if b.ndim > 1 else b
                            for b in buf)  # fmt: skip
                H, acts, rews, ep_ret, ep_len = buf
            actions = np.empty(S, np.int64)
            _act_and_store(tr.agent.actor.P, lay.lay, lay.acol, obs, envs.U, buf, actions)
            rew, term, trunc = envs.step_gymnasium(tr.runs, actions.tolist(), obs)
            tr.count_steps(S)
            _store_outcomes(rew, term, trunc, buf, ended, truncated)
        if not ended.any():
            continue
        done_rows = []
        for i in np.flatnonzero(ended).tolist():
            T = int(ep_len[i])
            envs.settle(i, tr.runs[i], T)
            final = obs[i, 0].copy() if (cfg.bootstrap_on_truncation and truncated[i]) else None
            stats = episode_update(
                tr.agent, i, H[i, :T, :n_obs], acts[i, :T], rews[i, :T], cfg, final, H[i, :T]
            )
            majority = float(np.bincount(acts[i, :T]).max()) / T
            if tr.end_episode(i, float(ep_ret[i]), T, stats, majority):
                obs[i, 0] = envs.reset(i, tr.runs[i])
            else:
                done_rows.append(i)
            ep_ret[i], ep_len[i] = 0.0, 0
        if done_rows:
            keep = tr.drop(done_rows)
            envs.keep(keep)
            buf = keep_rows(keep, *buf)
            obs, ended, truncated = keep_rows(keep, obs, ended, truncated)
        tr.maybe_checkpoint()
