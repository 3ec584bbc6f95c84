"""Synchronous n-step A2C (Mnih et al. 2016; the "A2C" of OpenAI Baselines / Stable-Baselines3).

What the notebooks' A2C lacks: each seed runs k environments side by side and updates once
every n steps from the whole k×n batch (rl-baselines3-zoo's CartPole setting: k=8, n=5):

    R_{t}   = r_t + γ·(1 − done_t)·R_{t+1},     R_{n} = V(s_{t+n}) (bootstrap)
    A_t     = R_t − V(s_t)                        (detached)
    L_actor = −mean_{k,t} A_t·log π(a_t|s_t)  [− c·mean H]
    L_critic = mean_{k,t} (R_t − V(s_t))²
    one Adam step on each network

Everything else is the one-step notebook's (networks, Adam lr 1e-3, sampled actions, a
time-limit cut treated as termination unless ``bootstrap_on_truncation``) so a comparison
isolates the data flow. Episodes finish at different times in the k envs; each finished
episode is one CSV row (``env_steps`` counts steps over all k envs), and its loss/entropy
columns are the means over the updates made while it ran. All seeds update on the same step,
so the update is batched over seeds. Resume from a checkpoint is not supported for this
variant (episodes in the k envs are mid-flight at every update boundary).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import twins
from .jit import kernel
from .lockstep import keep_rows
from .policy import categorical, policy_logit_grad, sample_actions
from .seed_run import STATS

if TYPE_CHECKING:  # the driver calls the loops; they only use its runner interface
    from .runner import Runner


def n_step_returns(
    rewards: np.ndarray, dones: np.ndarray, bootstrap: np.ndarray, gamma: float
) -> np.ndarray:
    """Discounted returns over the last dim (time), cut at dones, bootstrapped at the end.
    rewards, dones: (..., n); bootstrap: (...)."""
    gamma = np.float32(gamma)
    out = np.empty_like(rewards)
    R = bootstrap
    for t in range(rewards.shape[-1] - 1, -1, -1):
        R = rewards[..., t] + gamma * (1.0 - dones[..., t]) * R
        out[..., t] = R
    return out


@kernel
def _step_twins(kind, limit, state, elapsed, acts, obs, rew, ep_ret, ep_len, counts, steps,
                term, trunc):  # fmt: skip
    """One step of every seed's k twinned envs, in (seed, env) order, with the per-step
    bookkeeping of the Gymnasium path: rewards into ``rew`` (S, k) as float32, float64 returns,
    lengths, action counts, the seed's env-step count; which envs ended."""
    for i in range(state.shape[0]):
        for j in range(state.shape[1]):
            a = acts[i, j]
            reward, te = twins.twin_step(kind, state[i, j], a, obs[i, j])
            elapsed[i, j] += 1
            rew[i, j] = np.float32(reward)
            ep_ret[i, j] += reward
            ep_len[i, j] += 1
            counts[i, j, a] += 1.0
            steps[i] += 1
            term[i, j] = te
            trunc[i, j] = elapsed[i, j] >= limit


def run(tr: Runner) -> None:
    cfg = tr.cfg
    tr.disable_checkpoints()  # see module docstring
    k, n = cfg.n_envs, cfg.n_steps
    S = len(tr.runs)
    kind = twins.group_kind(tr.runs)  # CartPole, Acrobot: the k envs step as compiled twins
    limit = tr.runs[0].steppers[0].limit or 0
    state = np.zeros((S, k, 4))
    elapsed = np.zeros((S, k), np.int64)

    def reset(i: int, j: int) -> np.ndarray:
        o = tr.runs[i].reset(j)
        if kind != twins.NONE:
            state[i, j] = twins.state_of(tr.runs[i].steppers[j])
            elapsed[i, j] = 0
        return o

    obs = np.stack([np.stack([reset(i, j) for j in range(k)]) for i in range(S)])  # (S,k,obs)
    ep_ret = np.zeros((S, k))
    ep_len = np.zeros((S, k), dtype=np.int64)
    acc = np.zeros((S, k, len(STATS)))  # sums of update stats while each episode runs
    n_upd = np.zeros((S, k))
    counts = np.zeros((S, k, tr.n_actions))
    steps = np.zeros(S, dtype=np.int64)
    while tr.runs:
        S = len(tr.runs)
        b_obs = np.empty((S, k, n, tr.n_obs), np.float32)
        b_act = np.empty((S, k, n), np.int64)
        b_rew = np.empty((S, k, n), np.float32)
        b_done = np.zeros((S, k, n), np.float32)
        # the rollout's uniforms: n draws of k per seed, in the order n single calls draw them
        U = np.stack([r.act_rng.random(n * k) for r in tr.runs]).astype(np.float32)
        finished: set[int] = set()
        for t in range(n):
            _, p, _ = categorical(tr.agent.policy_logits(obs))
            acts = sample_actions(p, U[:, t * k : (t + 1) * k])
            b_obs[:, :, t] = obs
            b_act[:, :, t] = acts
            rew = np.empty((S, k), np.float32)
            term, trunc = np.zeros((S, k), bool), np.zeros((S, k), bool)
            if kind != twins.NONE:
                _step_twins(kind, limit, state, elapsed, acts, obs, rew, ep_ret, ep_len, counts,
                            steps, term, trunc)  # fmt: skip
            else:
                for i, run in enumerate(tr.runs):
                    for j in range(k):
                        o, r, term[i, j], trunc[i, j], _ = run.steppers[j].step(int(acts[i, j]))
                        rew[i, j] = r
                        ep_ret[i, j] += float(r)
                        ep_len[i, j] += 1
                        counts[i, j, acts[i, j]] += 1
                        steps[i] += 1
                        obs[i, j] = o
            b_rew[:, :, t] = rew
            for i, j in zip(*np.nonzero(term | trunc)):
                i, j = int(i), int(j)
                if cfg.bootstrap_on_truncation and trunc[i, j] and not term[i, j]:
                    # SB3: r += γ·V(s_T)
                    v_last = tr.agent.values(obs[i, j].reshape(1, 1, -1), row=i)
                    b_rew[i, j, t] += cfg.gamma * float(v_last[0, 0])
                b_done[i, j, t] = 1.0
                if i not in finished:
                    L = int(ep_len[i, j])
                    m = acc[i, j] / n_upd[i, j] if n_upd[i, j] else np.full(len(STATS), np.nan)
                    more = tr.end_episode(
                        i,
                        float(ep_ret[i, j]),
                        L,
                        dict(zip(STATS, m.tolist())),
                        float(counts[i, j].max()) / L,
                        env_steps=int(steps[i]) - (k - 1 - j),  # the seed's steps up to env j
                    )
                    if not more:
                        finished.add(i)
                ep_ret[i, j], ep_len[i, j], acc[i, j], n_upd[i, j] = 0.0, 0, 0.0, 0
                counts[i, j] = 0
                obs[i, j] = reset(i, j)
            tr.count_steps(S * k)
        if finished:
            keep = tr.drop(sorted(finished))
            if not keep:
                return
            obs, ep_ret, ep_len, acc, n_upd, counts, steps, state, elapsed = keep_rows(
                keep, obs, ep_ret, ep_len, acc, n_upd, counts, steps, state, elapsed
            )
            b_obs, b_act, b_rew, b_done = keep_rows(keep, b_obs, b_act, b_rew, b_done)
            S = len(keep)
        # --- update: all seeds at once on their k×n batches ---------------------------------
        logits, vs, cache = tr.agent.forward(b_obs.reshape(S, k * n, tr.n_obs))  # (S,k·n,·)
        logp, p, ent = categorical(logits)
        v_boot = tr.agent.values(obs)  # (S, k)
        R = n_step_returns(b_rew, b_done, v_boot, cfg.gamma).reshape(S, k * n)
        adv = R - vs
        a_t = b_act.reshape(S, k * n)
        logp_a = np.take_along_axis(logp, a_t[..., None], axis=2)[..., 0]
        B = np.float32(k * n)
        d_logits = policy_logit_grad(logp, p, ent, a_t, adv / B, cfg.entropy_coef / B)
        d_v = 2.0 * (vs - R) / B
        a_norm, c_norm = tr.agent.apply_gradients(tr.agent.backward(cache, d_logits, d_v))
        # per-seed means over the k·n batch (numpy reduces each row on its own)
        stats = np.stack(
            [
                (-(logp_a * adv)).mean(1), np.square(R - vs).mean(1), ent.mean(1),
                np.abs(adv).mean(1), vs.mean(1), a_norm, c_norm,
                (p.max(-1) > 0.99).mean(1),
            ],
            axis=1,
        )  # fmt: skip
        acc += stats[:, None, :]
        n_upd += 1
        tr.maybe_checkpoint()  # never writes for n_step; keeps memory trimmed
