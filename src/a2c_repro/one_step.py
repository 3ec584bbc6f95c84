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
import torch

from .agent import categorical_from_logits, policy_logit_grad, sample_actions
from .seed_run import STATS
from .train import GroupTrainer


def one_step_targets(
    rewards: torch.Tensor, v_next: torch.Tensor, done: torch.Tensor, gamma: float
) -> torch.Tensor:
    """target = r + (1 − done)·γ·V(s′), in the notebook's order of operations."""
    return rewards + (1.0 - done) * gamma * v_next


def done_mask(terminated: np.ndarray, truncated: np.ndarray, bootstrap_on_truncation: bool):
    """Which transitions get no V(s′) term: the notebook's ``terminated | truncated``, or only
    true terminations when a time-limit cut is bootstrapped."""
    return terminated if bootstrap_on_truncation else (terminated | truncated)


def update(agent, cache, v_s, logp, p, ent, actions, rewards, next_obs, masked, cfg):
    """One one-step A2C update of every seed in ``agent`` from its transition (s, a, r, s′).

    ``cache``, V(s) ``v_s`` (S,), ``logp``/``p``/``ent`` come from the forward pass on s that
    chose ``actions`` (S, 1). Returns the per-seed raw quantities (S, len(RAW)) that
    ``episode_stats`` turns into the episode's log columns."""
    _, v_next, _ = agent.forward(torch.from_numpy(next_obs).unsqueeze(1))  # V(s′), no gradient
    target = one_step_targets(
        torch.from_numpy(rewards), v_next[:, 0], torch.from_numpy(masked.astype(np.float32)),
        cfg.gamma,
    )  # fmt: skip
    adv = target - v_s  # V(s) detached: A only weights log π
    logp_a = logp.squeeze(1).gather(1, actions).squeeze(1)
    d_logits = policy_logit_grad(logp, p, ent, actions, adv.unsqueeze(1), cfg.entropy_coef)
    d_v = (2.0 * (v_s - target)).unsqueeze(1)  # ∂(V(s) − target)²/∂V(s)
    a_norm, c_norm = agent.apply_gradients(agent.backward(cache, d_logits, d_v))
    pmax = p.squeeze(1).amax(-1)
    return torch.stack([logp_a, adv, v_s, target, ent.squeeze(1), pmax, a_norm, c_norm], dim=1)


RAW = ("logp_a", "adv", "v_s", "target", "entropy", "pmax", "actor_grad_norm", "critic_grad_norm")


def episode_stats(raw: torch.Tensor) -> dict[str, float]:
    """Per-episode means of the log columns from the episode's per-step raw values (T, RAW).

    Each column is summed in float64 in step order (``np.cumsum`` is sequential), so the
    result does not depend on how many steps are summed at once."""
    logp_a, adv, v_s, target, ent, pmax, a_norm, c_norm = raw.unbind(1)
    per_step = torch.stack(
        [-logp_a * adv, (v_s - target).square(), ent, adv.abs(), v_s, a_norm, c_norm,
         (pmax > 0.99).to(torch.float32)], dim=1,
    )  # fmt: skip
    sums = np.cumsum(per_step.numpy().astype(np.float64), axis=0)[-1]
    return dict(zip(STATS, (sums / raw.shape[0]).tolist()))


def run(tr: GroupTrainer) -> None:
    cfg = tr.cfg
    n_act = tr.n_actions
    obs = np.stack([r.reset() for r in tr.runs])
    S = len(tr.runs)
    cap = tr.step_limit or 1024
    raw = torch.zeros(S, cap, len(RAW))  # this episode's per-step raw values, per seed
    counts = np.zeros((S, n_act), dtype=np.int64)  # actions taken this episode
    ep_ret = np.zeros(S)
    ep_len = np.zeros(S, dtype=np.int64)
    rows = torch.arange(S)
    while tr.runs:
        S = len(tr.runs)
        logits, v_s, cache = tr.agent.forward(torch.from_numpy(obs).unsqueeze(1))  # s: (S,1,·)
        logp, p, ent = categorical_from_logits(logits)  # (S,1,A), (S,1,A), (S,1)
        u = torch.from_numpy(np.array([r.act_rng.random() for r in tr.runs], np.float32))
        actions = sample_actions(p, u.unsqueeze(1))  # (S, 1)
        acts = actions.squeeze(1).tolist()

        next_obs = np.empty_like(obs)
        rew = np.empty(S, dtype=np.float32)
        term = np.zeros(S, dtype=bool)
        trunc = np.zeros(S, dtype=bool)
        for i, run in enumerate(tr.runs):
            o, r, te, tu, _ = run.envs[0].step(acts[i])
            next_obs[i], rew[i], term[i], trunc[i] = o, r, te, tu
        ep_ret += rew.astype(np.float64)  # float64 sum like the notebook's Python float
        counts[np.arange(S), acts] += 1
        tr.total_steps += S
        ended = term | trunc
        masked = done_mask(term, trunc, cfg.bootstrap_on_truncation)
        step_raw = update(
            tr.agent, cache, v_s[:, 0], logp, p, ent, actions, rew, next_obs, masked, cfg
        )
        if int(ep_len.max()) >= raw.shape[1]:  # no step limit: grow the episode buffer
            raw = torch.cat([raw, torch.zeros_like(raw)], dim=1)
        raw.index_put_((rows, torch.from_numpy(ep_len)), step_raw)
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
                rows = torch.arange(len(keep))
            tr.maybe_checkpoint()
