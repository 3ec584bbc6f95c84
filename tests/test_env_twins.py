"""The compiled twins of CartPole-v1 and Acrobot-v1 (twins.py) against Gymnasium's own step.

Many seeded envs are stepped side by side, each with its own random actions (uniform, or
"sticky" runs of one action that swing the Acrobot hard enough to wrap its angles and reach
its velocity bounds), for a million steps per env; at every step the float64 state, the
float32 observation, the reward and the termination flag must be the same bytes. Episodes
restart through Gymnasium's seeded reset, as in training. The coverage counts at the end make
sure the branches the twins reproduce (termination, angle wrap, velocity bound) were hit.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from a2c_repro import twins
from a2c_repro.envs import Stepper, make_env

STEPS = 1_000_000


def _drive(env_id: str, n_envs: int, steps: int, seed: int) -> dict[str, int]:
    steppers = [Stepper(make_env(env_id)) for _ in range(n_envs)]
    kind = twins.twin_kind(steppers[0].env)
    assert kind != twins.NONE
    bases = [st.env.unwrapped for st in steppers]
    rng = np.random.default_rng(seed)
    n_act = int(bases[0].action_space.n)
    state = np.empty((n_envs, 4))
    obs = np.empty((n_envs, bases[0].observation_space.shape[0]), np.float32)
    rew = np.empty(n_envs)
    term = np.zeros(n_envs, bool)
    elapsed = np.zeros(n_envs, np.int64)
    sticky = rng.random(n_envs) < 0.5
    actions = rng.integers(0, n_act, n_envs)
    for i, st in enumerate(steppers):
        st.env.reset(seed=int(rng.integers(2**31)))
        state[i] = np.asarray(bases[i].state, np.float64)
    seen = {"steps": 0, "terminated": 0, "truncated": 0, "wrapped": 0, "bounded": 0}
    while seen["steps"] < steps:
        fresh = rng.integers(0, n_act, n_envs)
        keep = sticky & (rng.random(n_envs) < 0.9)
        actions = np.where(keep, actions, fresh)
        before = state.copy()
        twins.steps_rows(kind, state, actions, obs, rew, term)
        for i, base in enumerate(bases):
            o, r, te, _, _ = base.step(int(actions[i]))
            ref = np.asarray(base.state, np.float64)
            if not (ref.tobytes() == state[i].tobytes() and o.tobytes() == obs[i].tobytes()
                    and r == rew[i] and bool(te) == bool(term[i])):  # fmt: skip
                pytest.fail(
                    f"{env_id} env {i} step {seen['steps']}: from state {before[i].tolist()} "
                    f"action {actions[i]}: gymnasium {ref.tolist()} {o.tolist()} {r} {te}, "
                    f"twin {state[i].tolist()} {obs[i].tolist()} {rew[i]} {term[i]}"
                )
        seen["steps"] += n_envs
        if kind == twins.ACROBOT:
            jump = np.abs(state[:, :2] - before[:, :2]) > np.pi
            seen["wrapped"] += int(jump.any(axis=1).sum())
            lim = np.array([bases[0].MAX_VEL_1, bases[0].MAX_VEL_2])
            seen["bounded"] += int((np.abs(state[:, 2:]) == lim).any(axis=1).sum())
        elapsed += 1
        trunc = elapsed >= steppers[0].limit
        seen["terminated"] += int(term.sum())
        seen["truncated"] += int((trunc & ~term).sum())
        for i in np.flatnonzero(term | trunc):
            steppers[i].env.reset()  # the env's own np_random, as in training
            state[i] = np.asarray(bases[i].state, np.float64)
            elapsed[i] = 0
            sticky[i] = rng.random() < 0.5
    return seen


def test_no_vector_math_library():
    """The twins' sin/cos are scalar calls of the C library's; SVML would substitute its
    own (CPU-dependent) vector versions in vectorised loops."""
    assert not numba.config.USING_SVML


def test_cartpole_twin_is_gymnasiums_step_bit_for_bit():
    seen = _drive("CartPole-v1", 100, STEPS, seed=1)
    assert seen["terminated"] > 1000 and seen["truncated"] >= 0


def test_acrobot_twin_is_gymnasiums_step_bit_for_bit():
    seen = _drive("Acrobot-v1", 100, STEPS, seed=2)
    assert seen["terminated"] > 10 and seen["truncated"] > 10
    assert seen["wrapped"] > 1000


def test_only_the_registered_defaults_are_twinned():
    env = make_env("CartPole-v1")
    assert twins.twin_kind(env) == twins.CARTPOLE
    env.unwrapped.kinematics_integrator = "semi-implicit euler"
    assert twins.twin_kind(env) == twins.NONE
    env = make_env("Acrobot-v1")
    assert twins.twin_kind(env) == twins.ACROBOT
    env.unwrapped.torque_noise_max = 0.1
    assert twins.twin_kind(env) == twins.NONE
    env = make_env("Acrobot-v1")
    env.unwrapped.book_or_nips = "nips"
    assert twins.twin_kind(env) == twins.NONE
    assert twins.twin_kind(make_env("MountainCar-v0")) == twins.NONE


@pytest.mark.parametrize(
    ("variant", "env_id", "episodes", "overrides"),
    [
        ("one_step", "CartPole-v1", 60, {"eval_interval": 7}),
        ("one_step", "Acrobot-v1", 3, {"bootstrap_on_truncation": True, "eval_interval": 2}),
        ("episodic", "CartPole-v1", 80, {"actor_loss": "notebook_broadcast", "eval_interval": 9}),
        ("episodic", "Acrobot-v1", 3, {"bootstrap_on_truncation": True, "eval_interval": 2}),
        ("n_step", "CartPole-v1", 40, {"n_envs": 3, "eval_interval": 6}),
        ("n_step", "Acrobot-v1", 3, {"bootstrap_on_truncation": True, "n_envs": 2}),
    ],
)
def test_training_on_the_twins_writes_the_csvs_gymnasium_does(
    variant, env_id, episodes, overrides, tmp_path, monkeypatch
):
    """The training loops' compiled path (twin steps, uniforms drawn per episode and each
    seed's stream settled after) against their Gymnasium path (one step at a time through
    Gymnasium), evaluation episodes included: the same CSV bytes."""
    from a2c_repro import default_config, lockstep, train

    cfg = default_config(variant).replace(**overrides)
    twinned = train(variant, env_id, [0, 1, 2], episodes, cfg, tmp_path / "twin")
    monkeypatch.setattr(lockstep.twins, "group_kind", lambda runs: twins.NONE)
    monkeypatch.setattr(lockstep.twins, "twin_kind", lambda env: twins.NONE)
    plain = train(variant, env_id, [0, 1, 2], episodes, cfg, tmp_path / "gymnasium")
    assert [p.read_bytes() for p in twinned] == [p.read_bytes() for p in plain]
    rows = twinned[0].read_text().splitlines()
    assert len(rows) == episodes + 1
    assert any(r.split(",")[10] for r in rows[1:]) == (cfg.eval_interval > 0)  # evaluated


def test_a_seeds_action_stream_is_left_where_one_draw_per_step_leaves_it():
    """The compiled loops take an episode's uniforms ahead (``SeedEnvs.reset``) and settle the
    stream after (``settle``): the episode sees the stream's draws in order, and the next
    episode starts exactly where one draw per step would have left it."""
    from a2c_repro.lockstep import SeedEnvs
    from a2c_repro.seed_run import SeedRun

    runs = [SeedRun.create(s, "CartPole-v1", "one_step", 5) for s in (3, 4)]
    twin_of = [SeedRun.create(s, "CartPole-v1", "one_step", 5) for s in (3, 4)]
    envs = SeedEnvs(runs, 500)
    for episode_steps in (17, 1, 500, 42):
        for i, (run, ref) in enumerate(zip(runs, twin_of)):
            envs.reset(i, run)
            ref.reset()
            single = [np.float32(ref.act_rng.random()) for _ in range(episode_steps)]
            assert envs.U[i, :episode_steps].tolist() == single
            envs.settle(i, run, episode_steps)
            assert run.act_rng.bit_generator.state == ref.act_rng.bit_generator.state
