"""Gymnasium environments the engine supports: a 1-D Box observation and Discrete actions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from .config import ConfigError

SUPPORTED = (
    "Gymnasium envs with a 1-D Box observation and Discrete actions "
    "(e.g. CartPole-v1, Acrobot-v1, LunarLander-v3)"
)


def make_env(env_id: str) -> gym.Env:
    """``gym.make`` with the time limit kept (truncation matters) and the checker off (speed)."""
    try:
        env = gym.make(env_id, disable_env_checker=True)
    except gym.error.Error as exc:  # unknown id, missing extra, deprecated version, ...
        msg = f"{exc.__class__.__name__}: {exc}".replace("\n", " ")
        raise ConfigError(f"--env {env_id}: {msg}; supported: {SUPPORTED}") from None
    except ImportError as exc:
        msg = f"cannot import its dependencies ({exc})".replace("\n", " ")
        raise ConfigError(f"--env {env_id}: {msg}; supported: {SUPPORTED}") from None
    obs_space, act_space = env.observation_space, env.action_space
    problem = None
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        problem = f"observation space {obs_space} is not a 1-D Box"
    elif not isinstance(act_space, gym.spaces.Discrete):
        problem = f"action space {act_space} is not Discrete"
    if problem:
        env.close()
        raise ConfigError(f"--env {env_id}: {problem}; supported: {SUPPORTED}")
    return env


class _CheckedDiscrete(gym.spaces.Discrete):
    """``Discrete`` whose ``contains`` answers Python ints with two comparisons.

    Classic-control and Box2D envs ``assert self.action_space.contains(action)`` on every step;
    Gymnasium's general check (dtype limits, ``np.dtype(...).type(x)``) costs ~5 µs of a
    ~7 µs CartPole step. The answer is the same: anything else goes to the general check."""

    def contains(self, x) -> bool:
        if type(x) is int:
            return self._lo <= x < self._hi
        return super().contains(x)

    @classmethod
    def like(cls, space: gym.spaces.Discrete) -> _CheckedDiscrete:
        new = cls(int(space.n), start=int(space.start))
        new._lo, new._hi = int(space.start), int(space.start + space.n)
        return new


_PLAIN_WRAPPERS = (gym.wrappers.TimeLimit, gym.wrappers.OrderEnforcing)


class Stepper:
    """``env.step``/``env.reset`` without the wrapper chain ``gym.make`` builds.

    When the only wrappers are ``TimeLimit`` and ``OrderEnforcing`` (every env tested here),
    ``step`` calls the base env and applies the time limit itself — the same
    ``truncated = elapsed >= max_episode_steps`` rule — saving ~2 µs per step; any other chain
    is stepped through as is. The numbers are unchanged either way."""

    def __init__(self, env: gym.Env) -> None:
        self.env = env
        chain, e = [], env
        while isinstance(e, gym.Wrapper):
            chain.append(type(e))
            e = e.env
        self.limit = env.spec.max_episode_steps if env.spec is not None else None
        fast = all(c in _PLAIN_WRAPPERS for c in chain) and (
            self.limit is None or gym.wrappers.TimeLimit in chain
        )
        base = env.unwrapped
        if fast and type(base.action_space) is gym.spaces.Discrete:
            base.action_space = _CheckedDiscrete.like(base.action_space)
        self._step = base.step if fast else env.step
        self.limit = self.limit if fast else None
        self.elapsed = 0

    def reset(self):
        self.elapsed = 0
        return self.env.reset()

    def step(self, action: int):
        obs, r, term, trunc, info = self._step(action)
        self.elapsed += 1
        if self.limit is not None and self.elapsed >= self.limit:
            trunc = True
        return obs, r, term, trunc, info


def env_dims(env_id: str) -> tuple[int, int, int]:
    """(observation size, number of actions, step limit) of ``env_id``."""
    env = make_env(env_id)
    try:
        limit = env.spec.max_episode_steps if env.spec is not None else None
        return int(env.observation_space.shape[0]), int(env.action_space.n), int(limit or 0)
    finally:
        env.close()


def as_obs(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)
