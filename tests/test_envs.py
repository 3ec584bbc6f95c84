"""The engine steps environments past ``gym.make``'s wrappers; it must see what they would."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from a2c_repro.envs import Stepper, _CheckedDiscrete


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Acrobot-v1", "LunarLander-v3"])
def test_stepper_sees_exactly_what_the_wrapped_env_returns_including_truncation(env_id):
    """Same seed, same actions: the wrapper-free step gives the wrapped env's observations,
    rewards and terminated/truncated flags — a short time limit makes truncation happen."""
    limit = 12
    ours = Stepper(gym.make(env_id, max_episode_steps=limit, disable_env_checker=True))
    theirs = gym.make(env_id, max_episode_steps=limit, disable_env_checker=True)
    rng = np.random.default_rng(0)
    n_actions = int(theirs.action_space.n)
    ours.env.reset(seed=0)  # seeds both envs' streams alike
    theirs.reset(seed=0)
    truncations = 0
    for _episode in range(4):
        o1, _ = ours.reset()
        o2, _ = theirs.reset()
        np.testing.assert_array_equal(o1, o2)
        while True:
            a = int(rng.integers(n_actions))
            s1, r1, te1, tu1, _ = ours.step(a)
            s2, r2, te2, tu2, _ = theirs.step(a)
            np.testing.assert_array_equal(s1, s2)
            assert (r1, te1, tu1) == (r2, te2, tu2)
            if te2 or tu2:
                truncations += tu2
                break
    assert truncations >= 1


def test_stepper_keeps_any_other_wrapper():
    """A wrapper that changes the numbers is not bypassed."""
    env = gym.wrappers.TransformReward(gym.make("CartPole-v1"), lambda r: 10.0 * r)
    st = Stepper(env)
    st.env.reset(seed=0)
    assert st.step(0)[1] == 10.0


def test_checked_discrete_answers_like_discrete():
    base = gym.spaces.Discrete(3, start=1)
    fast = _CheckedDiscrete.like(base)
    for x in [-1, 0, 1, 2, 3, 4, True, 2.0, np.int64(2), np.int64(5), "1", None, 2**70]:
        assert fast.contains(x) == base.contains(x), x
