"""The engine's update rules against hand-computed values and against the notebooks' own code."""

from __future__ import annotations

import itertools
from pathlib import Path

import numba
import numpy as np
import pytest
import torch

from a2c_repro import adam, jit, reference
from a2c_repro import batched_mlp as mlp
from a2c_repro.agent import AgentGroup
from a2c_repro.config import apply_overrides, default_config
from a2c_repro.episodic import episode_update, episodic_targets
from a2c_repro.n_step import n_step_returns
from a2c_repro.one_step import RAW, done_mask, one_step_targets, update_rows
from a2c_repro.policy import categorical, policy_logit_grad, sample_actions

torch.set_num_threads(1)
f32 = np.float32


# ------------------------------------------------------------------ hand-computed values ----
def test_one_step_target_masks_terminal_states():
    r = np.array([1.0, 1.0, 0.5], f32)
    v_next = np.array([2.0, 2.0, -4.0], f32)
    done = np.array([0.0, 1.0, 0.0], f32)
    t = one_step_targets(r, v_next, done, gamma=0.9)
    # 1 + 0.9·2 = 2.8 ; terminal: just r = 1 ; 0.5 + 0.9·(−4) = −3.1
    assert np.allclose(t, [2.8, 1.0, -3.1]) and t.dtype == f32


def test_truncation_is_termination_by_default_and_optional():
    term = np.array([False, True, False])
    trunc = np.array([True, False, False])
    # notebook: `terminated = terminated | truncated`
    assert done_mask(term, trunc, bootstrap_on_truncation=False).tolist() == [True, True, False]
    assert done_mask(term, trunc, bootstrap_on_truncation=True).tolist() == [False, True, False]
    assert default_config("one_step").bootstrap_on_truncation is False


def test_episodic_targets_zero_after_last_step_unless_bootstrapped():
    rewards = np.array([1.0, 2.0, 3.0], f32)
    values = np.array([0.5, 1.0, 2.0], f32)
    # next_t = V(s_{t+1}) for t < T−1, 0 at the end: [1 + .5·1, 2 + .5·2, 3 + 0]
    assert np.allclose(episodic_targets(rewards, values, 0.5), [1.5, 3.0, 3.0])
    # bootstrapping a time-limit cut with V(s_T) = 4: the last target is 3 + .5·4
    assert np.allclose(episodic_targets(rewards, values, 0.5, last_value=4.0), [1.5, 3.0, 5.0])


def test_n_step_returns_cut_at_done_and_bootstrap_at_end():
    rewards = np.array([[1.0, 1.0, 1.0]], f32)
    dones = np.array([[0.0, 1.0, 0.0]], f32)
    R = n_step_returns(rewards, dones, np.array([10.0], f32), gamma=0.5)
    # t=2: 1 + .5·10 = 6 ; t=1 ends an episode: 1 ; t=0: 1 + .5·1 = 1.5
    assert np.allclose(R, [[1.5, 1.0, 6.0]])


def test_policy_gradient_matches_autograd_including_entropy_bonus():
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 4, requires_grad=True)
    actions = torch.randint(0, 4, (3, 5))
    weight = torch.randn(3, 5)
    c = 0.1
    logp = torch.log_softmax(logits, -1)
    ent = -(logp.exp() * logp).sum(-1)
    loss = (-(logp.gather(-1, actions.unsqueeze(-1)).squeeze(-1) * weight) - c * ent).sum()
    loss.backward()
    lp, p, h = categorical(logits.detach().numpy())
    ours = policy_logit_grad(lp, p, h, actions.numpy(), weight.numpy(), c)
    assert np.allclose(ours, logits.grad.numpy(), atol=1e-6)


@pytest.mark.parametrize("n_actions", [2, 3, 4, 5, 9])
def test_policy_distribution_matches_torch_and_ignores_the_other_rows(n_actions):
    """π, log π and H are torch's log_softmax/softmax/entropy to float32 rounding, and a row's
    values (and sampled action) are the same bits whatever rows share the batch."""
    torch.manual_seed(n_actions)
    logits = torch.randn(64, n_actions) * 4
    logits[0] = 80.0  # large logits stay finite (log-softmax)
    logp_t = torch.log_softmax(logits, -1)
    logp, p, ent = categorical(logits.numpy())
    assert np.allclose(logp, logp_t.numpy(), atol=1e-5)
    assert np.allclose(p, logp_t.exp().numpy(), atol=1e-6)
    assert np.allclose(ent, -(logp_t.exp() * logp_t).sum(-1).numpy(), atol=1e-5)
    assert np.isfinite(logp).all()
    u = np.random.default_rng(n_actions).random(64).astype(f32)
    u[:8] = p[:8, 0]  # uniforms on a cdf boundary: the action is the first one
    a = sample_actions(p, u)
    assert (a[:8] == 0).all() and len(set(a.tolist())) > 1
    for r in (0, 9, 63):
        one = categorical(logits.numpy()[r : r + 1])
        for whole, alone in zip((logp, p, ent), one):
            assert np.array_equal(whole[r : r + 1], alone)
        assert sample_actions(one[1], u[r : r + 1])[0] == a[r]


# --------------------------------------------------------------------- compiled kernels ----
def _random_net(sizes, n_rows, seed):
    lay = mlp.Layout.of(sizes[0], tuple(sizes[1:-1]), sizes[-1])
    P = np.random.default_rng(seed).standard_normal((n_rows, lay.n_params)).astype(f32)
    return lay, P


def _torch_forward(lay, row, x):
    """The same MLP as torch ops on row's parameters (leaf tensors with gradients)."""
    ps = [torch.tensor(v, requires_grad=True) for v in lay.views(row)]
    h = torch.from_numpy(x)
    for k in range(0, len(ps), 2):
        h = h @ ps[k] + ps[k + 1]
        if k < len(ps) - 2:
            h = torch.relu(h)
    return h, ps


@pytest.mark.parametrize("sizes", [(3, 13, 7, 2), (8, 128, 128, 4)])  # odd widths hit the tails
def test_mlp_forward_and_backward_match_autograd(sizes):
    lay, P = _random_net(sizes, 2, 1)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, sizes[0])).astype(f32)
    d_out = rng.standard_normal((2, 5, sizes[-1])).astype(f32)
    A = np.empty((2, 5, lay.width), f32)
    mlp.forward_rows(P, lay.lay, lay.acol, x, A)
    D = np.empty_like(A)
    D[..., lay.out_cols()] = d_out
    G = np.zeros_like(P)
    mlp.backward_rows(P, lay.lay, lay.acol, A, D, G)
    for r in range(2):
        out, ps = _torch_forward(lay, P[r], x[r])
        assert np.allclose(A[r][:, lay.out_cols()], out.detach().numpy(), rtol=1e-5, atol=1e-4)
        (out * torch.from_numpy(d_out[r])).sum().backward()
        for g, t in zip(lay.views(G[r]), ps):
            assert np.allclose(g, t.grad.numpy(), rtol=1e-4, atol=1e-3)


def test_a_rows_numbers_do_not_depend_on_the_other_rows_or_the_batch_length():
    """Grouping invariance at its root: seed r's forward, backward and Adam step are the same
    bits alone or among other seeds; a batch row's forward is the same in any batch length."""
    lay, P = _random_net((4, 128, 64, 2), 3, 3)
    P *= 0.1
    x = np.random.default_rng(4).standard_normal((3, 6, 4)).astype(f32)
    A = np.empty((3, 6, lay.width), f32)
    mlp.forward_rows(P, lay.lay, lay.acol, x, A)
    A1 = np.empty((1, 6, lay.width), f32)
    mlp.forward_rows(P[1:2], lay.lay, lay.acol, x[1:2], A1)
    assert np.array_equal(A[1], A1[0])
    A_short = np.empty((1, 2, lay.width), f32)
    mlp.forward_rows(P[1:2], lay.lay, lay.acol, np.ascontiguousarray(x[1:2, 3:5]), A_short)
    assert np.array_equal(A[1, 3:5], A_short[0])
    D = np.ones_like(A)
    G = np.zeros_like(P)
    mlp.backward_rows(P, lay.lay, lay.acol, A, D, G)
    G1 = np.zeros_like(P[:1])
    mlp.backward_rows(P[1:2], lay.lay, lay.acol, A1, np.ones_like(A1), G1)
    assert np.array_equal(G[1], G1[0])
    state = [P.copy(), G.copy(), np.zeros_like(P), np.zeros_like(P)]
    alone = [a[1:2].copy() for a in state]
    args = (0.9, 0.999, 1e-8, 0.5)
    adam.clip_adam_rows(*state, np.arange(3), np.ones(3), np.full(3, 1e-3), *args, np.empty(3))
    adam.clip_adam_rows(*alone, np.arange(1), np.ones(1), np.full(1, 1e-3), *args, np.empty(1))
    assert np.array_equal(state[0][1], alone[0][0])


@pytest.mark.parametrize("max_grad_norm", [0.0, 1.0])
def test_clip_and_adam_follow_clip_grad_norm_and_torch_adam(max_grad_norm):
    """Two seeds at different step counts: each follows its own torch.optim.Adam (and
    clip_grad_norm_ when set) over 20 steps, to float32 rounding."""
    rng = np.random.default_rng(5)
    P = rng.standard_normal((2, 300)).astype(f32)
    M, V = np.zeros_like(P), np.zeros_like(P)
    refs = [torch.nn.Parameter(torch.tensor(P[r])) for r in range(2)]
    opts = [torch.optim.Adam([p], lr=lr, foreach=False) for p, lr in zip(refs, (1e-3, 3e-4))]
    steps = np.zeros(2)
    for k in range(20):
        rows = np.array([0, 1]) if k % 3 else np.array([1])  # seed 0 skips every third step
        G = (rng.standard_normal((2, 300)) * 3).astype(f32)
        steps[rows] += 1
        norms = np.empty(len(rows))
        adam.clip_adam_rows(P, G.copy(), M, V, rows, steps, np.array([1e-3, 3e-4]),
                           0.9, 0.999, 1e-8, max_grad_norm, norms)  # fmt: skip
        for j, r in enumerate(rows):
            refs[r].grad = torch.tensor(G[r])
            if max_grad_norm:
                want = torch.nn.utils.clip_grad_norm_([refs[r]], max_grad_norm)
            else:
                want = torch.linalg.vector_norm(refs[r].grad)
            assert norms[j] == pytest.approx(float(want), rel=1e-5)
            opts[r].step()
    for r in range(2):
        assert np.allclose(P[r], refs[r].detach().numpy(), rtol=1e-5, atol=1e-6)
    assert steps.tolist() == [13.0, 20.0]


# ------------------------------------------------------- faithfulness to the notebooks ----
def _linear_params(net, row: int = 0) -> list[torch.Tensor]:
    """Row ``row`` of a Net as nn.Linear-shaped tensors: weight (out, in), bias (out,)."""
    views = net.layout.views(net.P[row])
    return [torch.from_numpy(v.T.copy() if v.ndim == 2 else v.copy()) for v in views]


def _actor_critic_params(group: AgentGroup):
    """Seed 0's actor and critic weights as nn.Linear-shaped tensors."""
    return _linear_params(group.actor), _linear_params(group.critic)


def _load_into(nb_net: torch.nn.Module, params: list[torch.Tensor]) -> None:
    """Give a notebook network the engine's initial weights (nn.Linear parameter order)."""
    with torch.no_grad():
        for theirs, ours in zip(nb_net.parameters(), params, strict=True):
            theirs.copy_(ours)


def test_initial_weights_follow_nn_linear_default_distribution_and_are_cpu_independent():
    """nn.Linear's default init: every weight and bias of a layer with fan-in n lies in
    [−1/√n, 1/√n] and fills it (a KS test against the uniform law), seeds differ, and the
    bits come from NumPy's PCG64 integers alone (the same row for the same seed, whatever
    group or order the seeds are initialised in)."""
    from scipy import stats

    cfg = default_config("one_step")
    group = AgentGroup(4, 2, cfg, [123, 7])
    for params, sizes in (
        (_linear_params(group.actor), (4, 128, 64, 2)),
        (_linear_params(group.critic), (4, 128, 64, 1)),
    ):
        for k, fan_in in enumerate(sizes[:-1]):
            bound = 1.0 / np.sqrt(fan_in)
            for t in params[2 * k : 2 * k + 2]:
                v = t.numpy().ravel().astype(np.float64)
                assert np.all(np.abs(v) <= bound)
                if v.size >= 64:
                    assert stats.kstest(v, stats.uniform(-bound, 2 * bound).cdf).pvalue > 1e-3
    alone = AgentGroup(4, 2, cfg, [7])
    assert np.array_equal(alone.actor.P[0], group.actor.P[1])
    assert np.array_equal(alone.critic.P[0], group.critic.P[1])
    assert not np.array_equal(group.actor.P[0], group.actor.P[1])


def _one_step_update(agent, cache, actions, rewards, next_obs, terminated):
    """One one-step update of every seed in ``agent`` from its transition (s, a, r, s′), through
    the training loop's kernel (``cache`` from ``agent.forward`` on s, whose actor pass gives
    the activations); returns the per-seed raw log values (S, len(RAW))."""
    _, Aa, _ = cache
    S = len(actions)
    raw = np.zeros((S, 1, len(RAW)), np.float32)
    log = (raw, np.zeros(S, np.int64), np.zeros((S, agent.n_actions), np.int64), np.zeros(S))
    update_rows(
        agent, np.ascontiguousarray(Aa, np.float32), np.asarray(actions, np.int64),
        np.asarray(rewards, np.float32), np.ascontiguousarray(next_obs, np.float32)[:, None],
        np.asarray(terminated, np.float32), log,
    )  # fmt: skip
    return raw[:, 0]


@pytest.mark.parametrize("max_grad_norm", [0.0, 0.5])
def test_one_step_update_follows_the_notebook_for_many_steps(max_grad_norm):
    """Same init, same transitions: the engine's parameters track the notebook's A2C.train
    (autograd + torch.optim.Adam) to float32 rounding over 50 updates, terminals included;
    with `max_grad_norm`, the notebook's code plus clip_grad_norm_ on each network (rewards
    are large so that the clip is active on most updates)."""
    cfg = apply_overrides(default_config("one_step"), {"max_grad_norm": max_grad_norm})
    group = AgentGroup(4, 2, cfg, [5])
    nb = reference.OneStepA2C(4, 2, max_grad_norm=max_grad_norm)
    _load_into(nb.actor, _linear_params(group.actor))
    _load_into(nb.critic, _linear_params(group.critic))
    rng = np.random.default_rng(0)
    clipped = 0
    for t in range(50):
        s = rng.standard_normal(4).astype(np.float32)
        s2 = rng.standard_normal(4).astype(np.float32)
        a = int(rng.integers(2))
        r = np.float32(1.0 if not max_grad_norm else 20.0 * rng.standard_normal())
        term = t % 7 == 6
        _, _, cache = group.forward(s.reshape(1, 1, 4))
        raw = _one_step_update(group, cache, [a], [r], s2[None], [term])
        norms = raw[0, RAW.index("actor_grad_norm") :].tolist()  # pre-clip, actor and critic
        clipped += max_grad_norm > 0 and max(norms) > max_grad_norm
        log_pi = nb.log_pi_of(torch.from_numpy(s), torch.tensor(a))
        nb.train(torch.from_numpy(s), torch.from_numpy(s2), torch.tensor(float(r)),
                 torch.tensor(term, dtype=torch.float32), log_pi)  # fmt: skip
    actor, critic = _actor_critic_params(group)
    for ours, theirs in zip(actor + critic, [*nb.actor.parameters(), *nb.critic.parameters()]):
        assert torch.allclose(ours, theirs.detach(), rtol=1e-4, atol=1e-5)
    assert not torch.allclose(actor[0], _actor_critic_params(AgentGroup(4, 2, cfg, [5]))[0][0])
    if max_grad_norm:
        assert clipped >= 40, clipped


@pytest.mark.parametrize("form", ["notebook_broadcast", "sum"])
def test_episodic_update_follows_the_notebook(form):
    """``notebook_broadcast`` equals the notebook's ActorCritic.train literally (whose
    (T,)·(T,1) product broadcasts); ``sum`` equals −Σ_t G_t·log π_t computed by autograd."""
    cfg = default_config("episodic").replace(actor_loss=form)
    group = AgentGroup(8, 4, cfg, [9])
    nb = reference.ActorCritic(8, 4)
    _load_into(nb.actor, _linear_params(group.actor))
    _load_into(nb.critic, _linear_params(group.critic))
    rng = np.random.default_rng(1)
    for episode in range(3):
        T = 12 + episode
        states = rng.standard_normal((T, 8)).astype(np.float32)
        actions = rng.integers(0, 4, T)
        rewards = rng.standard_normal(T).astype(np.float32)
        episode_update(group, 0, states, actions, rewards, cfg, None)
        if form == "notebook_broadcast":
            for s, a, r in zip(states, actions, rewards):
                _, v, lp = nb(torch.from_numpy(s), torch.tensor([int(a)]))
                nb.store(float(r), v, lp)
            nb.train_episode()
        else:
            x = torch.from_numpy(states)
            vs = nb.critic(x).squeeze(-1)
            logp = torch.log(nb.actor(x))[torch.arange(T), torch.from_numpy(actions)]
            nxt = torch.cat((vs[1:].detach(), torch.zeros(1))) * cfg.gamma
            G = (torch.from_numpy(rewards) + nxt - vs).detach()
            for loss, opt in ((-(G * logp).sum(), nb.actor_optim),
                              (torch.nn.functional.mse_loss(torch.from_numpy(rewards) + nxt, vs),
                               nb.critic_optim)):  # fmt: skip
                opt.zero_grad()
                loss.backward()
                opt.step()
    ours = _linear_params(group.actor) + _linear_params(group.critic)
    for o, t in zip(ours, [*nb.actor.parameters(), *nb.critic.parameters()]):
        assert torch.allclose(o, t.detach(), rtol=1e-4, atol=1e-5)


def test_act_samples_from_the_policy_and_returns_the_update_s_activations():
    """``act`` (one compiled call: actor forward, π, inverse-CDF sample) picks the action that
    sample_actions picks from forward's π, bit for bit, and its activations are the ones the
    episodic update reuses instead of a second actor forward pass."""
    cfg = default_config("episodic")
    group = AgentGroup(8, 4, cfg, [3, 4, 5])
    rng = np.random.default_rng(6)
    obs = rng.standard_normal((3, 8)).astype(f32)
    for _ in range(5):
        u = rng.random(3).astype(f32)
        actions, h = group.act(obs, u)
        logits, _, (_, Aa, _) = group.forward(obs[:, None])
        _, p, _ = categorical(logits[:, 0])
        assert np.array_equal(actions, sample_actions(p, u))
        assert np.array_equal(h, Aa[:, 0])
        one, h1 = group.act(obs[1], u[1:2], row=1)
        assert one[0] == actions[1] and np.array_equal(h1[0], h[1])
        obs = rng.standard_normal((3, 8)).astype(f32) * 3
    states = rng.standard_normal((7, 8)).astype(f32)
    H = np.stack([group.act(s, np.zeros(1, f32), row=0)[1][0] for s in states])
    args = (0, states, rng.integers(0, 4, 7), rng.standard_normal(7).astype(f32), cfg, None)
    twin = AgentGroup(8, 4, cfg, [3, 4, 5])
    assert episode_update(group, *args, actor_acts=H) == episode_update(twin, *args)
    assert np.array_equal(group.actor.P, twin.actor.P)


def test_adam_step_on_subnormal_moments_has_the_plain_update_s_bits():
    """Dead units leave zero gradients whose moments decay through the subnormal range; the
    kernel computes those elements from their integer bits, which must give exactly the bits
    of the plain update (written here with numpy's element-wise float32 ops), for every mix of
    tiny and normal moments, weights and gradients, with and without ε, for any β1."""
    rng = np.random.default_rng(11)
    n = 4096
    sub = lambda k: np.asarray(k, np.int32).view(f32)  # k·2^-149
    cases = {
        "g": [np.zeros(n, f32), (rng.standard_normal(n) * 1e-3).astype(f32), sub(rng.integers(1, 9, n))],
        "m": [sub(rng.integers(1, 6, n)), -sub(rng.integers(1, 6, n)), sub(rng.integers(1, 3000, n)),
              -sub(rng.integers(1, 2**23, n)), (rng.standard_normal(n) * 1e-4).astype(f32),
              np.zeros(n, f32), -np.zeros(n, f32)],
        "v": [sub(rng.integers(1, 600, n)), sub(rng.integers(1, 2**23, n)), np.full(n, 1e-12, f32),
              np.full(n, 1.2e-38, f32), np.full(n, 1.1760e-38, f32), np.zeros(n, f32)],
        "p": [(rng.standard_normal(n) * 0.1).astype(f32), (rng.standard_normal(n) * 1e-24).astype(f32),
              sub(rng.integers(1, 99, n)), np.zeros(n, f32)],
    }  # fmt: skip
    pick = {k: np.stack(v)[rng.integers(0, len(v), n), np.arange(n)] for k, v in cases.items()}
    for eps, t, b1 in itertools.product((1e-8, 0.0), (1.0, 300.0), (0.9, 0.0, 0.5)):
        g, m, v, p = (pick[k].copy()[None] for k in "gmvp")
        b2, lr = 0.999, 1e-3
        omb1, fb2, omb2 = f32(1 - b1), f32(b2), f32(1 - b2)
        step = f32(lr / (1.0 - b1**t))
        bc2 = f32(np.sqrt(1.0 - b2**t))
        m_want = m[0] + (g[0] - m[0]) * omb1
        v_want = v[0] * fb2 + omb2 * (g[0] * g[0])
        p_want = p[0] - step * (m_want / (np.sqrt(v_want) / bc2 + f32(eps)))
        adam.clip_adam_rows(p, g, m, v, np.arange(1), np.array([t]), np.array([lr]),
                           b1, b2, eps, 0.0, np.empty(1))  # fmt: skip
        for got, want in ((p, p_want), (m, m_want), (v, v_want)):
            assert np.array_equal(got[0].view(np.int32), want.view(np.int32))


def test_kernel_caches_are_stamped_with_every_source_of_the_package():
    """A kernel compiled into another (the one-step update inlines adam.py's Adam) must be
    recompiled when either file changes; numba stamps a cache with the kernel's own file
    only, so the engine stamps every kernel with a hash of all the package's sources."""
    from a2c_repro import one_step

    sources = sorted((Path(jit.__file__).parent).glob("*.py"))
    assert jit.SOURCES_STAMP == jit._sources_stamp() and len(sources) > 5
    for kernel in (one_step._update_rows, adam.clip_adam_rows, mlp.forward_rows):
        assert kernel._cache._cache_file._source_stamp == jit.SOURCES_STAMP


def _interleaved8(terms: np.ndarray) -> list:
    """The 8 partial sums s_u = Σ_k terms[8k+u] in k order, the tail added to s_0."""
    s = [terms.dtype.type(0)] * 8
    n8 = len(terms) - len(terms) % 8
    for k in range(0, n8, 8):
        for u in range(8):
            s[u] = terms.dtype.type(s[u] + terms[k + u])
    for k in range(n8, len(terms)):
        s[0] = terms.dtype.type(s[0] + terms[k])
    return s


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 64, 131, 9026])
def test_vector_kernels_sum_in_the_documented_order(n):
    """The dot product and the gradient norm run as 8-lane vectors; their results must be
    those of the 8 interleaved scalar sums they document, to the bit, at every length
    (wide-ranging magnitudes make any other order show)."""
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 10.0 ** rng.integers(-20, 20, n)).astype(f32)
    y = rng.standard_normal(n).astype(f32)
    s = _interleaved8(x * y)
    want_dot = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
    dot = numba.njit(lambda a, b: mlp._dot(a, b))
    assert f32(dot(x, y)).view(np.int32) == f32(want_dot).view(np.int32)
    q = _interleaved8(x.astype(np.float64) ** 2)
    total = 0.0
    for u in range(8):
        total += q[u]
    assert adam._l2_norm(x) == np.sqrt(total)


def test_one_step_episode_means_are_numpys_float64_running_sums():
    """The compiled per-episode means equal the NumPy formulation they replace, bit for bit:
    each per-step value in float32, summed in float64 in step order (``np.cumsum``), edge
    values included (−0.0 sums, a top probability of exactly float32(0.99))."""
    from a2c_repro.one_step import STATS, episode_stats

    def numpy_means(raw):
        logp_a, adv, v_s, target, ent, pmax, a_norm, c_norm = raw.T
        per_step = np.stack(
            [-logp_a * adv, np.square(v_s - target), ent, np.abs(adv), v_s, a_norm, c_norm,
             (pmax > 0.99).astype(np.float32)], axis=1,
        )  # fmt: skip
        return np.cumsum(per_step.astype(np.float64), axis=0)[-1] / raw.shape[0]

    rng = np.random.default_rng(3)
    for T in (1, 2, 9, 500):
        raw = (rng.standard_normal((T, len(RAW))) * 10.0 ** rng.integers(-8, 8, (T, 1)))
        raw = raw.astype(np.float32)
        raw[:, 5] = rng.choice(np.array([0.5, 0.99, 0.995, 1.0], np.float32), T)
        if T < 3:
            raw[:, 0], raw[:, 1] = 0.5, 0.0  # −log π·A = −0.5·0.0 = −0.0 on every step
        got = [episode_stats(raw)[k] for k in STATS]
        assert np.array(got).tobytes() == numpy_means(raw).tobytes()
