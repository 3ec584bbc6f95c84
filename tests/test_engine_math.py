"""The engine's update rules against hand-computed values and against the notebooks' own code."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from a2c_repro import batched_mlp as mlp
from a2c_repro import reference
from a2c_repro.agent import (
    AgentGroup,
    categorical_from_logits,
    categorical_np,
    policy_logit_grad,
    sample_actions,
)
from a2c_repro.config import apply_overrides, default_config
from a2c_repro.episodic import episode_update, episodic_targets
from a2c_repro.n_step import n_step_returns
from a2c_repro.one_step import RAW, done_mask, one_step_targets, update

torch.set_num_threads(1)


# ------------------------------------------------------------------ hand-computed values ----
def test_one_step_target_masks_terminal_states():
    r = torch.tensor([1.0, 1.0, 0.5])
    v_next = torch.tensor([2.0, 2.0, -4.0])
    done = torch.tensor([0.0, 1.0, 0.0])
    t = one_step_targets(r, v_next, done, gamma=0.9)
    # 1 + 0.9·2 = 2.8 ; terminal: just r = 1 ; 0.5 + 0.9·(−4) = −3.1
    assert torch.allclose(t, torch.tensor([2.8, 1.0, -3.1]))


def test_truncation_is_termination_by_default_and_optional():
    term = np.array([False, True, False])
    trunc = np.array([True, False, False])
    # notebook: `terminated = terminated | truncated`
    assert done_mask(term, trunc, bootstrap_on_truncation=False).tolist() == [True, True, False]
    assert done_mask(term, trunc, bootstrap_on_truncation=True).tolist() == [False, True, False]
    assert default_config("one_step").bootstrap_on_truncation is False


def test_episodic_targets_zero_after_last_step_unless_bootstrapped():
    rewards = torch.tensor([1.0, 2.0, 3.0])
    values = torch.tensor([0.5, 1.0, 2.0])
    # next_t = V(s_{t+1}) for t < T−1, 0 at the end: [1 + .5·1, 2 + .5·2, 3 + 0]
    assert torch.allclose(episodic_targets(rewards, values, 0.5), torch.tensor([1.5, 3.0, 3.0]))
    # bootstrapping a time-limit cut with V(s_T) = 4: the last target is 3 + .5·4
    assert torch.allclose(
        episodic_targets(rewards, values, 0.5, last_value=4.0), torch.tensor([1.5, 3.0, 5.0])
    )


def test_n_step_returns_cut_at_done_and_bootstrap_at_end():
    rewards = torch.tensor([[1.0, 1.0, 1.0]])
    dones = torch.tensor([[0.0, 1.0, 0.0]])
    R = n_step_returns(rewards, dones, torch.tensor([10.0]), gamma=0.5)
    # t=2: 1 + .5·10 = 6 ; t=1 ends an episode: 1 ; t=0: 1 + .5·1 = 1.5
    assert torch.allclose(R, torch.tensor([[1.5, 1.0, 6.0]]))


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
    with torch.no_grad():
        lp, p, h = categorical_from_logits(logits)
        ours = policy_logit_grad(lp, p, h, actions, weight, c)
    assert torch.allclose(ours, logits.grad, atol=1e-6)


@pytest.mark.parametrize("n_actions", [2, 3, 4, 5, 6, 9])
def test_numpy_policy_math_has_the_bits_of_the_torch_math(n_actions):
    """one_step's per-step math runs in numpy (cheaper calls); it must round exactly as the
    torch expressions the other variants use: π, log π, H, the sampled action, ∂L/∂logits."""
    torch.manual_seed(n_actions)
    logits = torch.randn(64, 1, n_actions) * 4
    logp_t, p_t, ent_t = categorical_from_logits(logits)
    logp, p, ent = categorical_np(logits)
    assert np.array_equal(logp, logp_t[:, 0].numpy()) and np.array_equal(p, p_t[:, 0].numpy())
    assert np.array_equal(ent, ent_t[:, 0].numpy())
    u = torch.rand(64, 1)
    u[:8] = p_t[:8, 0, :1]  # uniforms on a cdf boundary
    a_t = sample_actions(p_t, u)
    a = sample_actions(p, u[:, 0].numpy())
    assert np.array_equal(a, a_t[:, 0].numpy()) and len(set(a.tolist())) > 1
    w = torch.randn(64, 1)
    for c in (0.0, 0.1):
        g_t = policy_logit_grad(logp_t, p_t, ent_t, a_t, w, c)
        g = policy_logit_grad(logp, p, ent, a, w[:, 0].numpy(), c)
        assert np.array_equal(g, g_t[:, 0].numpy())


def test_mlp_backward_matches_autograd():
    torch.manual_seed(1)
    layers = [
        (torch.randn(2, 3, 8), torch.randn(2, 1, 8)),
        (torch.randn(2, 8, 2), torch.randn(2, 1, 2)),
    ]
    x = torch.randn(2, 5, 3)
    d_out = torch.randn(2, 5, 2)
    grads = mlp.FlatGrads([(3, 8), (8, 2)], 2)
    _out, acts = mlp.forward(layers, x)
    mlp.backward(layers, acts, d_out, grads.layer_views())
    ps = [t.clone().requires_grad_(True) for pair in layers for t in pair]
    h = torch.relu(torch.baddbmm(ps[1], x, ps[0]))
    (torch.baddbmm(ps[3], h, ps[2]) * d_out).sum().backward()
    got = [t for pair in grads.layer_views() for t in pair]
    for g, p in zip(got, ps):
        assert torch.allclose(g, p.grad, atol=1e-5)


@pytest.mark.parametrize("critic_hidden", ["128,64", "64,32"])  # merged / separate stacks
def test_policy_logits_are_the_forward_logits_after_every_kind_of_update(critic_hidden):
    """Acting uses the actor alone (a copy of the actor rows when actor and critic share a
    stack): its logits must be forward's, bit for bit, after a one-seed (episodic) update, an
    all-seed (one-step) update, and seeds leaving the group — stale weights here would
    silently act with an old policy."""
    cfg = apply_overrides(default_config("one_step"), {"critic_hidden": critic_hidden})
    group = AgentGroup(4, 2, cfg, [3, 4, 5])
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((3, 2, 4), dtype=np.float32))

    def check():
        S = group.adams[0].counts.shape[0]
        want = group.forward(x[:S])[0]
        assert torch.equal(group.policy_logits(x[:S]), want)
        for r in range(S):
            assert torch.equal(group.policy_logits(x[r : r + 1], row=r), want[r : r + 1])

    check()
    for row, xs in ((1, x[1:2]), (None, x)):  # one seed's update, then every seed's
        logits, v, cache = group.forward(xs, row=row)
        group.apply_gradients(group.backward(cache, torch.ones_like(logits), torch.ones_like(v)))
        check()
    group.select([0, 2])
    check()


def test_batched_adam_equals_torch_fused_adam_bit_for_bit():
    torch.manual_seed(2)
    cfg = default_config("one_step")
    group = AgentGroup(4, 2, cfg, [7])
    w0 = group.stacks[0][0][0][0].clone()  # actor first-layer weight of seed 0
    ref = torch.nn.Parameter(w0.clone())
    opt = torch.optim.Adam([ref], lr=cfg.actor_lr, fused=True)
    for _ in range(3):
        g = torch.randn_like(w0)
        group.grads[0].flat.zero_()
        group.grads[0].layer_views()[0][0][0].copy_(g)  # row 0 = seed 0's actor
        group.apply_gradients()
        ref.grad = g.clone()
        opt.step()
    assert torch.equal(group.stacks[0][0][0][0], ref.detach())


# ------------------------------------------------------- faithfulness to the notebooks ----
def _actor_critic_params(group: AgentGroup, n_actions: int):
    """Seed 0's actor and critic weights as nn.Linear-shaped (out, in) tensors."""
    actor, critic = [], []
    for w, b in group.stacks[0]:
        actor += [w[0].t(), b[0, 0]]
        critic += [w[1].t(), b[1, 0]]
    critic[-2], critic[-1] = critic[-2][:1], critic[-1][:1]  # unpad the critic's output
    return actor, critic


def test_weights_start_as_the_notebook_networks_under_the_same_seed():
    group = AgentGroup(4, 2, default_config("one_step"), [123])
    torch.manual_seed(123)
    nb = reference.OneStepA2C(4, 2)
    actor, critic = _actor_critic_params(group, 2)
    for ours, theirs in zip(actor, nb.actor.parameters()):
        assert torch.equal(ours, theirs.detach())
    for ours, theirs in zip(critic, nb.critic.parameters()):
        assert torch.equal(ours, theirs.detach())


@pytest.mark.parametrize("max_grad_norm", [0.0, 0.5])
def test_one_step_update_follows_the_notebook_for_many_steps(max_grad_norm):
    """Same init, same transitions: the engine's parameters track the notebook's A2C.train
    (autograd + torch.optim.Adam) to float32 rounding over 50 updates, terminals included;
    with `max_grad_norm`, the notebook's code plus clip_grad_norm_ on each network (rewards
    are large so that the clip is active on most updates)."""
    cfg = apply_overrides(default_config("one_step"), {"max_grad_norm": max_grad_norm})
    group = AgentGroup(4, 2, cfg, [5])
    torch.manual_seed(5)
    nb = reference.OneStepA2C(4, 2, max_grad_norm=max_grad_norm)
    rng = np.random.default_rng(0)
    clipped = 0
    for t in range(50):
        s = rng.standard_normal(4).astype(np.float32)
        s2 = rng.standard_normal(4).astype(np.float32)
        a = int(rng.integers(2))
        r = np.float32(1.0 if not max_grad_norm else 20.0 * rng.standard_normal())
        term = t % 7 == 6
        with torch.no_grad():
            logits, v_s, cache = group.forward(torch.from_numpy(s).view(1, 1, 4))
            logp, p, ent = categorical_np(logits)
            raw = update(group, cache, v_s.numpy()[:, 0], logp, p, ent, np.array([a]),
                         np.array([r], np.float32), s2[None], np.array([term]), cfg)  # fmt: skip
        norms = raw[0, RAW.index("actor_grad_norm") :].tolist()  # pre-clip, actor and critic
        clipped += max_grad_norm > 0 and max(norms) > max_grad_norm
        log_pi = nb.log_pi_of(torch.from_numpy(s), torch.tensor(a))
        nb.train(torch.from_numpy(s), torch.from_numpy(s2), torch.tensor(float(r)),
                 torch.tensor(term, dtype=torch.float32), log_pi)  # fmt: skip
    actor, critic = _actor_critic_params(group, 2)
    for ours, theirs in zip(actor + critic, [*nb.actor.parameters(), *nb.critic.parameters()]):
        assert torch.allclose(ours, theirs.detach(), rtol=1e-4, atol=1e-5)
    assert not torch.allclose(actor[0], _actor_critic_params(AgentGroup(4, 2, cfg, [5]), 2)[0][0])
    if max_grad_norm:
        assert clipped >= 40, clipped


@pytest.mark.parametrize("form", ["notebook_broadcast", "sum"])
def test_episodic_update_follows_the_notebook(form):
    """``notebook_broadcast`` equals the notebook's ActorCritic.train literally (whose
    (T,)·(T,1) product broadcasts); ``sum`` equals −Σ_t G_t·log π_t computed by autograd."""
    cfg = default_config("episodic").replace(actor_loss=form)
    group = AgentGroup(8, 4, cfg, [9])
    torch.manual_seed(9)
    nb = reference.ActorCritic(8, 4)
    rng = np.random.default_rng(1)
    for episode in range(3):
        T = 12 + episode
        states = rng.standard_normal((T, 8)).astype(np.float32)
        actions = rng.integers(0, 4, T)
        rewards = rng.standard_normal(T).astype(np.float32)
        with torch.no_grad():
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
    ours = [t for w, b in group.stacks[0] for t in (w[0].t(), b[0, 0])]
    for o, t in zip(ours, nb.actor.parameters()):
        assert torch.allclose(o, t.detach(), rtol=1e-4, atol=1e-5)
