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
0, 50, 100, … a sampled evaluation episode runs on a separate env (see ``lockstep.evaluate``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import batched_mlp as mlp
from .adam import clip_adam_rows
from .jit import kernel
from .lockstep import SeedEnvs, act_on_next_uniforms, keep_rows, step_twins
from .policy import categorical_rows
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


@kernel
def _update_rows(actor, critic, Aa, obs, next_obs, rew, masked, actions, steps, hp, log):
    """One one-step A2C update of every row, in one compiled call: the critic on s and s′,
    π from the actor's output in ``Aa`` (the activations that chose ``actions``), the
    gradients, both Adam steps; then the step's raw values into ``raw[r, ep_len[r]]`` and the
    episode counters. Each float32 expression is the numpy one it replaces, in its order.

    ``actor``/``critic``: (P, G, M, V, lay, acol) of each network (``agent.Net``);
    ``hp``: (actor_lr, critic_lr, β1, β2, ε, max_grad_norm, entropy_coef, γ);
    ``log``: (raw (S, T, len(RAW)), ep_len, counts (S, n_actions), ep_ret)."""
    Pa, Ga, Ma, Va, lay_a, acol_a = actor
    Pc, Gc, Mc, Vc, lay_c, acol_c = critic
    lr_a, lr_c, beta1, beta2, eps, max_norm, entropy_coef, gamma = hp
    raw, ep_len, counts, ep_ret = log
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
        categorical_rows(z, logp, p, ent)
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
    clip_adam_rows(Pa, Ga, Ma, Va, rows, steps, np.full(S, lr_a), beta1, beta2, eps,
                       max_norm, norms_a)  # fmt: skip
    clip_adam_rows(Pc, Gc, Mc, Vc, rows, steps, np.full(S, lr_c), beta1, beta2, eps,
                       max_norm, norms_c)  # fmt: skip
    for r in range(S):
        t = ep_len[r] - 1
        raw[r, t, 6] = np.float32(norms_a[r])
        raw[r, t, 7] = np.float32(norms_c[r])


@kernel
def _steps_until_an_episode_ends(kind, limit, state, elapsed, U, obs, actor, critic, steps,
                                 hp, bootstrap_on_truncation, log, ended):  # fmt: skip
    """Lockstep steps of every row — act (``act_rows`` with the row's next uniform), the env's
    compiled twin step, ``_update_rows`` — until at least one row's episode ends; returns the
    number of steps taken. ``obs`` (S, 1, n_obs) is advanced in place; ``ended[r]`` tells
    which rows ended (their ``obs`` is the terminal observation)."""
    Pa, lay_a, acol_a = actor[0], actor[4], actor[5]
    ep_len = log[1]
    S = state.shape[0]
    width = acol_a[acol_a.shape[0] - 1] + lay_a[lay_a.shape[0] - 1, 3]
    Aa = np.empty((S, 1, width), np.float32)
    nxt = np.empty_like(obs)
    actions = np.empty(S, np.int64)
    reward = np.empty(S)
    term, trunc = np.empty(S, np.bool_), np.empty(S, np.bool_)
    rew = np.empty(S, np.float32)
    masked = np.empty(S, np.float32)
    n = 0
    while True:
        act_on_next_uniforms(Pa, lay_a, acol_a, obs, U, ep_len, Aa, actions)
        step_twins(kind, limit, state, elapsed, actions, nxt, reward, term, trunc)
        any_ended = False
        for r in range(S):
            rew[r] = np.float32(reward[r])
            cut = term[r] or (trunc[r] and not bootstrap_on_truncation)  # ``done_mask``
            masked[r] = np.float32(1.0) if cut else np.float32(0.0)
            ended[r] = term[r] or trunc[r]
            any_ended = any_ended or ended[r]
        _update_rows(actor, critic, Aa, obs, nxt, rew, masked, actions, steps, hp, log)
        obs[:] = nxt
        n += 1
        if any_ended:
            return n


def _nets(agent) -> tuple[tuple, tuple, tuple]:
    """(actor, critic, hp) as ``_update_rows`` takes them."""
    cfg = agent.cfg
    act, cri = agent.actor, agent.critic
    hp = (cfg.actor_lr, cfg.critic_lr, cfg.adam_beta1, cfg.adam_beta2, cfg.adam_eps,
          cfg.max_grad_norm, cfg.entropy_coef, cfg.gamma)  # fmt: skip
    return (
        (act.P, act.G, act.M, act.V, act.layout.lay, act.layout.acol),
        (cri.P, cri.G, cri.M, cri.V, cri.layout.lay, cri.layout.acol),
        tuple(float(x) for x in hp),
    )


def update_rows(agent, Aa, actions, rewards, next_obs, masked, log) -> None:
    """``_update_rows`` on every seed of ``agent``; ``Aa`` (S, 1, width) are the actor's
    activations on s from ``act_rows`` (s is in their first n_obs columns)."""
    actor, critic, hp = _nets(agent)
    n_obs = agent.actor.layout.sizes[0]
    _update_rows(actor, critic, Aa, np.ascontiguousarray(Aa[:, :, :n_obs]), next_obs, rewards,
                 masked, actions, agent.steps, hp, log)  # fmt: skip


RAW = ("logp_a", "adv", "v_s", "target", "entropy", "pmax", "actor_grad_norm", "critic_grad_norm")


@kernel
def _episode_means(raw, out):
    """``episode_stats``'s means into ``out`` (len(STATS)): each per-step value in float32 as
    numpy computes it, summed in float64 in step order starting from the first (as
    ``np.cumsum``, so a sum of −0.0 stays −0.0), divided by T."""
    T = raw.shape[0]
    for t in range(T):
        logp_a, adv, v_s, target, ent, pmax, a_norm, c_norm = (
            raw[t, 0], raw[t, 1], raw[t, 2], raw[t, 3], raw[t, 4], raw[t, 5], raw[t, 6],
            raw[t, 7],
        )  # fmt: skip
        d = v_s - target
        x = (np.float64(-logp_a * adv), np.float64(d * d), np.float64(ent),
             np.float64(abs(adv)), np.float64(v_s), np.float64(a_norm), np.float64(c_norm),
             1.0 if pmax > np.float32(0.99) else 0.0)  # fmt: skip
        for k in range(8):
            out[k] = x[k] if t == 0 else out[k] + x[k]
    for k in range(8):
        out[k] = out[k] / T


def episode_stats(raw: np.ndarray) -> dict[str, float]:
    """Per-episode means of the log columns from the episode's per-step raw values (T, RAW):
    mean −log π(a|s)·A (actor loss), (V(s) − target)² (critic loss), entropy, |A|, V(s), both
    pre-clip gradient norms, and the share of steps whose top action probability is > 0.99.
    Each is summed in float64 in step order, so the result does not depend on how many steps
    are summed at once."""
    out = np.empty(len(STATS))
    _episode_means(np.ascontiguousarray(raw), out)
    return dict(zip(STATS, out.tolist()))


def run(tr: Runner) -> None:
    # Twinned envs (CartPole, Acrobot): one compiled call runs every seed's steps — act, env
    # step, update — until an episode ends. Other envs: per lockstep one compiled call to act,
    # the envs' steps in Python, one compiled call for the update. Same numbers either way.
    cfg = tr.cfg
    S = len(tr.runs)
    envs = SeedEnvs(tr.runs, tr.step_limit)
    obs = np.stack([envs.reset(i, r) for i, r in enumerate(tr.runs)])[:, None]  # (S, 1, n_obs)
    raw = np.zeros((S, envs.U.shape[1], len(RAW)), np.float32)  # the episode's raw values
    counts = np.zeros((S, tr.n_actions), dtype=np.int64)  # actions taken this episode
    ep_ret = np.zeros(S)
    ep_len = np.zeros(S, dtype=np.int64)
    ended = np.zeros(S, dtype=bool)
    lay = tr.agent.actor.layout
    while tr.runs:
        S = len(tr.runs)
        log = (raw, ep_len, counts, ep_ret)
        if envs.twinned:
            actor, critic, hp = _nets(tr.agent)
            n = _steps_until_an_episode_ends(
                envs.kind, envs.limit, envs.state, envs.elapsed, envs.U, obs, actor, critic,
                tr.agent.steps, hp, cfg.bootstrap_on_truncation, log, ended,
            )  # fmt: skip
            tr.count_steps(S * n)
        else:
            if int(ep_len.max()) >= envs.U.shape[1]:  # no step limit: more uniforms, room
                envs.grow(tr.runs)
                raw = np.concatenate([raw, np.zeros_like(raw)], axis=1)[:, : envs.U.shape[1]]
                log = (raw, ep_len, counts, ep_ret)
            Aa = np.empty((S, 1, lay.width), np.float32)
            actions = np.empty(S, np.int64)
            act_on_next_uniforms(tr.agent.actor.P, lay.lay, lay.acol, obs, envs.U, ep_len, Aa,
                                 actions)  # fmt: skip
            next_obs = np.empty_like(obs)
            rew, term, trunc = envs.step_gymnasium(tr.runs, actions.tolist(), next_obs)
            tr.count_steps(S)
            masked = done_mask(term, trunc, cfg.bootstrap_on_truncation).astype(np.float32)
            update_rows(tr.agent, Aa, actions, rew.astype(np.float32), next_obs, masked, log)
            obs = next_obs
            ended = term | trunc
        if not ended.any():
            continue
        done_rows = []
        for i in np.flatnonzero(ended).tolist():
            n = int(ep_len[i])
            envs.settle(i, tr.runs[i], n)
            stats = episode_stats(raw[i, :n])
            majority = float(counts[i].max()) / n
            if tr.end_episode(i, float(ep_ret[i]), n, stats, majority):
                obs[i, 0] = envs.reset(i, tr.runs[i])
            else:
                done_rows.append(i)
            counts[i], ep_ret[i], ep_len[i] = 0, 0.0, 0
        if done_rows:
            keep = tr.drop(done_rows)
            envs.keep(keep)
            obs, raw, counts, ep_ret, ep_len, ended = keep_rows(
                keep, obs, raw, counts, ep_ret, ep_len, ended
            )
        tr.maybe_checkpoint()
