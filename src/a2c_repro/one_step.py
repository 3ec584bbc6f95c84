"""One-step A2C — read next to ``one_step_a2c_cartpole`` (``A2C.train`` is called every step).

For every environment step (s, a, r, s′, done), for every seed at once:

    V(s′) under no_grad                                   next_state_value
    target = r + γ·(1 − done)·V(s′)                       _compute_target_state_value
    A      = target − V(s)        (V(s) detached)         _compute_advantage
    L_actor  = −log π(a|s)·A      [− c·H(π(·|s))]         _compute_actor_loss (+ optional bonus)
    L_critic = (V(s) − target)²                           _compute_critic_loss (F.mse_loss)
    one Adam step on each network                         _train_step × 2

``done`` is ``terminated | truncated`` as in the notebook (``bootstrap_on_truncation=True``
masks only true terminations). Actions are sampled, never greedy. After training episodes
0, 50, 100, … a sampled evaluation episode runs on a separate env (see ``train.evaluate``).
"""

from __future__ import annotations

import numpy as np

from .agent import categorical, policy_logit_grad, sample_actions
from .seed_run import STATS
from .train import GroupTrainer


def one_step_targets(rewards, v_next, done, gamma: float):
    """target = r + (1 − done)·γ·V(s′), in the notebook's order of operations (float32)."""
    return rewards + (1.0 - done) * gamma * v_next


def done_mask(terminated: np.ndarray, truncated: np.ndarray, bootstrap_on_truncation: bool):
    """Which transitions get no V(s′) term: the notebook's ``terminated | truncated``, or only
    true terminations when a time-limit cut is bootstrapped."""
    return terminated if bootstrap_on_truncation else (terminated | truncated)


def update(agent, cache, v_s, logp, p, ent, actions, rewards, next_obs, masked, cfg):
    """One one-step A2C update of every seed in ``agent`` from its transition (s, a, r, s′).

    ``cache``, V(s) ``v_s`` (S,) and ``logp``/``p`` (S, A), ``ent`` (S,) come from the forward
    pass on s that chose ``actions`` (S,). Returns the per-seed raw quantities (S, len(RAW))
    that ``episode_stats`` turns into the episode's log columns."""
    v_next = agent.values(next_obs[:, None])[:, 0]  # V(s′), no gradient
    target = one_step_targets(rewards, v_next, masked.astype(np.float32), cfg.gamma)
    adv = target - v_s  # V(s) detached: A only weights log π
    rows = np.arange(len(actions))
    logp_a = logp[rows, actions]
    d_logits = policy_logit_grad(logp, p, ent, actions, adv, cfg.entropy_coef)
    d_v = 2.0 * (v_s - target)  # ∂(V(s) − target)²/∂V(s)
    a_norm, c_norm = agent.apply_gradients(agent.backward(cache, d_logits[:, None], d_v[:, None]))
    pmax = p.max(-1)
    return np.stack([logp_a, adv, v_s, target, ent, pmax, a_norm, c_norm], axis=1)


RAW = ("logp_a", "adv", "v_s", "target", "entropy", "pmax", "actor_grad_norm", "critic_grad_norm")


def episode_stats(raw: np.ndarray) -> dict[str, float]:
    """Per-episode means of the log columns from the episode's per-step raw values (T, RAW).

    Each column is summed in float64 in step order (``np.cumsum`` is sequential), so the
    result does not depend on how many steps are summed at once."""
    logp_a, adv, v_s, target, ent, pmax, a_norm, c_norm = raw.T
    per_step = np.stack(
        [-logp_a * adv, np.square(v_s - target), ent, np.abs(adv), v_s, a_norm, c_norm,
         (pmax > 0.99).astype(np.float32)], axis=1,
    )  # fmt: skip
    sums = np.cumsum(per_step.astype(np.float64), axis=0)[-1]
    return dict(zip(STATS, (sums / raw.shape[0]).tolist()))


def run(tr: GroupTrainer) -> None:
    cfg = tr.cfg
    n_act = tr.n_actions
    obs = np.stack([r.reset() for r in tr.runs])
    S = len(tr.runs)
    cap = tr.step_limit or 1024
    raw = np.zeros((S, cap, len(RAW)), np.float32)  # this episode's per-step raw values
    counts = np.zeros((S, n_act), dtype=np.int64)  # actions taken this episode
    ep_ret = np.zeros(S)
    ep_len = np.zeros(S, dtype=np.int64)
    rows = np.arange(S)
    while tr.runs:
        S = len(tr.runs)
        logits, v_s, cache = tr.agent.forward(obs[:, None])  # s: (S,1,·)
        logp, p, ent = categorical(logits[:, 0])
        u = np.array([r.act_rng.random() for r in tr.runs], np.float32)
        actions = sample_actions(p, u)
        acts = actions.tolist()

        next_obs = np.empty_like(obs)
        rew = np.empty(S, dtype=np.float32)
        term = np.zeros(S, dtype=bool)
        trunc = np.zeros(S, dtype=bool)
        for i, run in enumerate(tr.runs):
            next_obs[i], rew[i], term[i], trunc[i], _ = run.steppers[0].step(acts[i])
        ep_ret += rew.astype(np.float64)  # float64 sum like the notebook's Python float
        counts[rows, actions] += 1
        tr.total_steps += S
        ended = term | trunc
        masked = done_mask(term, trunc, cfg.bootstrap_on_truncation)
        step_raw = update(
            tr.agent, cache, v_s[:, 0], logp, p, ent, actions, rew, next_obs, masked, cfg
        )
        if int(ep_len.max()) >= raw.shape[1]:  # no step limit: grow the episode buffer
            raw = np.concatenate([raw, np.zeros_like(raw)], axis=1)
        raw[rows, ep_len] = step_raw
        ep_len += 1

        obs = next_obs
        if ended.any():
            done_rows = []
            for i in np.flatnonzero(ended):
                n = int(ep_len[i])
                stats = episode_stats(raw[i, :n])
                majority = float(counts[i].max()) / n
                if tr.end_episode(int(i), float(ep_ret[i]), n, stats, majority):
                    obs[i] = tr.runs[i].reset()
                else:
                    done_rows.append(int(i))
                counts[i] = 0
                ep_ret[i] = 0.0
                ep_len[i] = 0
            if done_rows:
                keep = tr.drop(done_rows)
                obs, raw, counts = obs[keep], raw[keep], counts[keep]
                ep_ret, ep_len = ep_ret[keep], ep_len[keep]
                rows = np.arange(len(keep))
            tr.maybe_checkpoint()
