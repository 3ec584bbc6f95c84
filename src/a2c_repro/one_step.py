"""One-step A2C — read next to ``one_step_a2c_cartpole``, whose ``A2C.train`` runs after every
env step (its code, runnable, is ``reference.OneStepA2C.train``; the names on the right are its
variables).

For every environment step (s, a, r, s′, done), for every seed at once:

    V(s′) under no_grad                                   next_state_value
    target = r + (1 − done)·γ·V(s′)                       target_state_value
    A      = target − V(s)        (V(s) detached)         advantage
    L_actor  = −log π(a|s)·A      [− c·H(π(·|s))]         actor_loss (+ optional bonus)
    L_critic = (V(s) − target)²                           critic_loss (F.mse_loss)
    one Adam step on each network                         opt.step() × 2

The gradients the kernel applies, by hand instead of autograd (tests check them against
autograd on ``reference.OneStepA2C``):

    ∂L_actor/∂z_j  = (π_j − 1[j = a])·A   [+ c·π_j·(log π_j + H)]  z: the actor's logits
    ∂L_critic/∂V(s) = 2·(V(s) − target)
    then backpropagated through each MLP (``batched_mlp.backward_rows``).

``done`` is ``terminated | truncated`` as in the notebook (``bootstrap_on_truncation=True``
masks only true terminations). Actions are sampled, never greedy. After training episodes
0, 50, 100, … a sampled evaluation episode runs on a separate env (see ``train.evaluate``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import batched_mlp as mlp
from .seed_run import STATS

if TYPE_CHECKING:  # the driver calls the loops; they only use its runner interface
    from .runner import Runner


def one_step_targets(rewards, v_next, done, gamma: float):
    """target = r + (1 − done)·γ·V(s′), in the notebook's order of operations (float32)."""
    return rewards + (1.0 - done) * gamma * v_next


def done_mask(terminated: np.ndarray, truncated: np.ndarray, bootstrap_on_truncation: bool):
    """Which transitions get no V(s′) term: the notebook's ``terminated | truncated``, or only
    true terminations when a time-limit cut is bootstrapped."""
    return terminated if bootstrap_on_truncation else (terminated | truncated)


@mlp._jit
def _update_rows(
    Pa, Ga, Ma, Va, lay_a, acol_a, Pc, Gc, Mc, Vc, lay_c, acol_c, Aa, obs, next_obs, rew,
    masked, actions, steps, lr_a, lr_c, beta1, beta2, eps, max_norm, entropy_coef, gamma,
    raw, ep_len, counts, ep_ret,
):  # fmt: skip
    """One one-step A2C update of every row, in one compiled call: the critic on s and s′,
    π from the actor's output in ``Aa`` (the activations that chose ``actions``), the
    gradients, both Adam steps; then the step's raw values into ``raw[r, ep_len[r]]`` and the
    episode counters. Each float32 expression is the numpy one it replaces, in its order."""
    S = Pa.shape[0]
    n_act = Aa.shape[2] - acol_a[acol_a.shape[0] - 1]
    oa = acol_a[acol_a.shape[0] - 1]
    oc = acol_c[acol_c.shape[0] - 1]
    Ac = np.empty((S, 1, oc + lay_c[lay_c.shape[0] - 1, 3]), np.float32)
    An = np.empty_like(Ac)
    mlp.forward_rows(Pc, lay_c, acol_c, obs, Ac)  # V(s), with the cache for the backward pass
    mlp.forward_rows(Pc, lay_c, acol_c, next_obs, An)  # V(s′), no gradient
    z = np.empty((1, n_act), np.float32)
    logp, p = np.empty((1, n_act), np.float32), np.empty((1, n_act), np.float32)
    ent = np.empty(1, np.float32)
    Da = np.empty_like(Aa)
    Dc = np.empty_like(Ac)
    g32 = np.float32(gamma)
    c32 = np.float32(entropy_coef)
    one = np.float32(1.0)
    for r in range(S):
        for j in range(n_act):
            z[0, j] = Aa[r, 0, oa + j]
        mlp.categorical_rows(z, logp, p, ent)
        a = actions[r]
        v_s = Ac[r, 0, oc]
        target = rew[r] + (one - masked[r]) * g32 * An[r, 0, oc]
        adv = target - v_s  # V(s) detached: A only weights log π
        pmax = p[0, 0]
        for j in range(n_act):
            pj = p[0, j]
            gj = (pj - one if j == a else pj - np.float32(0.0)) * adv
            if entropy_coef != 0.0:
                gj = gj + (pj * (logp[0, j] + ent[0])) * c32
            Da[r, 0, oa + j] = gj
            if not np.isnan(pmax) and (np.isnan(pj) or pj > pmax):  # numpy's max
                pmax = pj
        Dc[r, 0, oc] = np.float32(2.0) * (v_s - target)  # ∂L_critic/∂V(s)
        t = ep_len[r]
        raw[r, t, 0] = logp[0, a]
        raw[r, t, 1] = adv
        raw[r, t, 2] = v_s
        raw[r, t, 3] = target
        raw[r, t, 4] = ent[0]
        raw[r, t, 5] = pmax
        ep_len[r] = t + 1
        counts[r, a] += 1
        ep_ret[r] += np.float64(rew[r])  # float64 sum like the notebook's Python float
    mlp.backward_rows(Pa, lay_a, acol_a, Aa, Da, Ga)
    mlp.backward_rows(Pc, lay_c, acol_c, Ac, Dc, Gc)
    rows = np.arange(S)
    norms_a, norms_c = np.empty(S), np.empty(S)
    for r in range(S):
        steps[r] += 1.0
    mlp.clip_adam_rows(Pa, Ga, Ma, Va, rows, steps, np.full(S, lr_a), beta1, beta2, eps,
                       max_norm, norms_a)  # fmt: skip
    mlp.clip_adam_rows(Pc, Gc, Mc, Vc, rows, steps, np.full(S, lr_c), beta1, beta2, eps,
                       max_norm, norms_c)  # fmt: skip
    for r in range(S):
        t = ep_len[r] - 1
        raw[r, t, 6] = np.float32(norms_a[r])
        raw[r, t, 7] = np.float32(norms_c[r])


def update_rows(agent, Aa, actions, rewards, next_obs, masked, raw, ep_len, counts, ep_ret):
    """``_update_rows`` on every seed of ``agent``; ``Aa`` (S, 1, width) are the actor's
    activations on s from ``act_rows`` (s is in their first n_obs columns)."""
    cfg = agent.cfg
    act, cri = agent.actor, agent.critic
    n_obs = act.layout.sizes[0]
    _update_rows(
        act.P, act.G, act.M, act.V, act.layout.lay, act.layout.acol,
        cri.P, cri.G, cri.M, cri.V, cri.layout.lay, cri.layout.acol,
        Aa, np.ascontiguousarray(Aa[:, :, :n_obs]), next_obs, rewards, masked, actions,
        agent.steps, cfg.actor_lr, cfg.critic_lr, cfg.adam_beta1, cfg.adam_beta2, cfg.adam_eps,
        cfg.max_grad_norm, cfg.entropy_coef, cfg.gamma, raw, ep_len, counts, ep_ret,
    )  # fmt: skip


def update(agent, cache, v_s, logp, p, ent, actions, rewards, next_obs, masked, cfg):
    """One one-step A2C update of every seed in ``agent`` from its transition (s, a, r, s′)
    (``cache`` from ``agent.forward`` on s, whose actor pass chose ``actions``); returns the
    per-seed raw quantities (S, len(RAW)) that ``episode_stats`` turns into log columns.
    The training loop calls ``update_rows`` directly; this is the same kernel."""
    _, Aa, _ = cache
    S = len(actions)
    raw = np.zeros((S, 1, len(RAW)), np.float32)
    update_rows(
        agent, np.ascontiguousarray(Aa, np.float32), np.asarray(actions, np.int64),
        np.asarray(rewards, np.float32), np.ascontiguousarray(next_obs, np.float32)[:, None],
        np.asarray(masked, np.float32), raw, np.zeros(S, np.int64),
        np.zeros((S, agent.n_actions), np.int64), np.zeros(S),
    )  # fmt: skip
    return raw[:, 0]


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


def run(tr: Runner) -> None:
    # Per lockstep: one compiled call to act (actor forward, π, sample), the envs' steps in
    # Python, one compiled call for the update and the step's log values.
    cfg = tr.cfg
    n_act = tr.n_actions
    obs = np.stack([r.reset() for r in tr.runs]).astype(np.float32)
    S = len(tr.runs)
    cap = tr.step_limit or 1024
    raw = np.zeros((S, cap, len(RAW)), np.float32)  # this episode's per-step raw values
    counts = np.zeros((S, n_act), dtype=np.int64)  # actions taken this episode
    ep_ret = np.zeros(S)
    ep_len = np.zeros(S, dtype=np.int64)
    lay = tr.agent.actor.layout
    grow = not tr.step_limit
    while tr.runs:
        S = len(tr.runs)
        agent = tr.agent
        u = np.array([r.act_rng.random() for r in tr.runs], np.float32)
        Aa = np.empty((S, 1, lay.width), np.float32)
        actions = np.empty(S, np.int64)
        mlp.act_rows(agent.actor.P, lay.lay, lay.acol, obs[:, None], u, Aa, actions)
        acts = actions.tolist()

        next_obs = np.empty_like(obs)
        rew = np.empty(S, dtype=np.float32)
        term = np.zeros(S, dtype=bool)
        trunc = np.zeros(S, dtype=bool)
        for i, run in enumerate(tr.runs):
            next_obs[i], rew[i], term[i], trunc[i], _ = run.steppers[0].step(acts[i])
        tr.count_steps(S)
        masked = done_mask(term, trunc, cfg.bootstrap_on_truncation).astype(np.float32)
        if grow and int(ep_len.max()) >= raw.shape[1]:  # no step limit: grow the buffer
            raw = np.concatenate([raw, np.zeros_like(raw)], axis=1)
        update_rows(agent, Aa, actions, rew, next_obs[:, None], masked, raw, ep_len, counts,
                    ep_ret)  # fmt: skip

        obs = next_obs
        ended = term | trunc
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
            tr.maybe_checkpoint()
