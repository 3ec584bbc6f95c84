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
