"""The training envs of a seed group, one row per seed, and each seed's action uniforms.

A variant's loop (one_step.py, episodic.py) steps every seed of the group in lockstep. How
the envs are stepped depends on the env:

  * CartPole-v1 and Acrobot-v1 at their registered settings have compiled twins (twins.py),
    so the loop runs whole stretches of steps (act, env step, update) in one compiled call,
    until some seed's episode ends. ``twinned`` is True.
  * Every other env (LunarLander-v3's Box2D) is stepped by Gymnasium in Python, one lockstep
    at a time (``step_gymnasium``).

Either way the numbers are the same: a twin's step is Gymnasium's to the bit, resets are
Gymnasium's own (its seeded ``np_random``), and a seed's action uniforms are its own stream's
draws in order. The compiled loop needs them before the episode starts, so ``reset`` draws a
block of them, and ``settle`` afterwards leaves the stream exactly where one draw per step
would have left it (checkpoints snapshot the stream, and the next episode continues it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import twins
from .jit import kernel
from .policy import act_rows

if TYPE_CHECKING:
    from .agent import AgentGroup
    from .seed_run import SeedRun

_BLOCK = 1024  # uniforms drawn at a time for an env without a step limit


def draw_ahead(rng: np.random.Generator, n: int) -> tuple[dict, np.ndarray]:
    """The stream's state now and its next ``n`` uniforms (float64 draws rounded to float32),
    for a compiled loop that needs them before it knows how many it will use."""
    return rng.bit_generator.state, rng.random(n).astype(np.float32)


def settle(rng: np.random.Generator, before: dict, used: int) -> None:
    """Put the stream where ``used`` single draws from the state ``before`` leave it."""
    rng.bit_generator.state = before
    rng.random(used)


@kernel
def act_on_next_uniforms(P, lay, acol, obs, U, ep_len, A, actions):
    """Every row acts on its observation (``act_rows``) with its episode's next uniform
    ``U[r, ep_len[r]]``; the actor's activations into ``A``."""
    u = np.empty(obs.shape[0], np.float32)
    for r in range(obs.shape[0]):
        u[r] = U[r, ep_len[r]]
    act_rows(P, lay, acol, obs, u, A, actions)


@kernel
def step_twins(kind, limit, state, elapsed, actions, next_obs, rew, term, trunc):
    """One compiled twin step of every row's env: the observation into ``next_obs``
    (S, 1, n_obs), the reward (float64), terminated, and truncated by the time limit."""
    for r in range(state.shape[0]):
        rew[r], term[r] = twins.twin_step(kind, state[r], actions[r], next_obs[r, 0])
        elapsed[r] += 1
        trunc[r] = elapsed[r] >= limit


def keep_rows(keep: list[int], *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The rows ``keep`` of each per-seed array (row i belongs to the loop's i-th seed): what a
    loop keeps of its buffers when seeds finish (``Runner.drop`` gives ``keep``)."""
    return tuple(a[keep] for a in arrays)


class SeedEnvs:
    """Row i: seed ``runs[i]``'s training env (``state``, ``elapsed`` when twinned) and its
    action uniforms for the current episode (``U[i, t]`` for step t)."""

    def __init__(self, runs: list[SeedRun], step_limit: int) -> None:
        S = len(runs)
        self.kind = twins.group_kind(runs)
        self.twinned = self.kind != twins.NONE
        self.limit = step_limit
        self.state = np.zeros((S, 4))  # the twins' float64 env states
        self.elapsed = np.zeros(S, np.int64)
        self.U = np.empty((S, step_limit or _BLOCK), np.float32)
        self._stream_at_reset: list[dict | None] = [None] * S

    def reset(self, i: int, run: SeedRun) -> np.ndarray:
        """Start seed ``run``'s next episode in row i: Gymnasium's reset, then the episode's
        action uniforms. Returns the first observation (float32)."""
        obs = run.reset()
        if self.twinned:
            self.state[i] = twins.state_of(run.steppers[0])
            self.elapsed[i] = 0
        self._stream_at_reset[i], self.U[i] = draw_ahead(run.act_rng, self.U.shape[1])
        return obs

    def settle(self, i: int, run: SeedRun, steps: int) -> None:
        """The episode in row i took ``steps`` steps: put the seed's action stream where
        ``steps`` single draws from its reset would have left it."""
        settle(run.act_rng, self._stream_at_reset[i], steps)

    def grow(self, runs: list[SeedRun]) -> None:
        """No step limit and an episode reached the end of the uniforms: draw more, each seed
        from where its stream stands (it continues the episode's block)."""
        more = np.stack([r.act_rng.random(_BLOCK) for r in runs]).astype(np.float32)
        self.U = np.concatenate([self.U, more], axis=1)

    def step_gymnasium(self, runs: list[SeedRun], actions: list[int], obs: np.ndarray):
        """One step of every seed's Gymnasium env; the observations into ``obs`` (S, 1, n_obs)
        and (rewards (float64), terminated, truncated) returned."""
        out = [run.steppers[0].step(a) for run, a in zip(runs, actions)]
        obs[:, 0] = [o for o, *_ in out]
        rew = np.array([r for _, r, *_ in out], np.float64)
        term = np.array([te for _, _, te, *_ in out], bool)
        trunc = np.array([tu for *_, tu, _ in out], bool)
        return rew, term, trunc

    def keep(self, rows: list[int]) -> None:
        """Keep only the given rows (their seeds still train)."""
        self.state, self.elapsed, self.U = keep_rows(rows, self.state, self.elapsed, self.U)
        self._stream_at_reset = [self._stream_at_reset[k] for k in rows]


@kernel
def _twinned_episode(kind, limit, state, obs, U, P, lay, acol):
    """One sampled episode of the policy in ``P`` (one row) on a twinned env from ``state``:
    (the return, summed in float64 in step order; the number of steps)."""
    A = np.empty((1, 1, acol[acol.shape[0] - 1] + lay[lay.shape[0] - 1, 3]), np.float32)
    a = np.empty(1, np.int64)
    total = 0.0
    for t in range(limit):
        act_rows(P, lay, acol, obs, U[t : t + 1], A, a)
        reward, term = twins.twin_step(kind, state, a[0], obs[0, 0])
        total += reward
        if term:
            return total, t + 1
    return total, limit


def evaluate(agent: AgentGroup, row: int, run: SeedRun) -> float:
    """One sampled (not greedy) evaluation episode on the seed's own evaluation env,
    without learning — the one-step notebook's `inference_env` loop. One uniform of the
    seed's evaluation stream per step; on a twinned env the whole episode is one compiled
    call (the uniforms drawn ahead, the stream settled after, as in ``SeedEnvs``)."""
    env = run.eval_stepper
    obs, _ = env.reset()
    obs = np.asarray(obs, dtype=np.float32).reshape(1, 1, -1)
    kind = twins.twin_kind(env.env) if env.limit else twins.NONE
    if kind != twins.NONE:
        state = twins.state_of(env).copy()
        at_reset, U = draw_ahead(run.eval_rng, env.limit)
        lay = agent.actor.layout
        total, steps = _twinned_episode(kind, env.limit, state, obs, U,
                                        agent.actor.P[row : row + 1], lay.lay, lay.acol)  # fmt: skip
        settle(run.eval_rng, at_reset, steps)
        return total
    total = 0.0
    while True:
        u = np.array([run.eval_rng.random()], np.float32)
        a = int(agent.act(obs[0], u, row=row)[0][0])
        o, r, term, trunc, _ = env.step(a)
        obs = np.asarray(o, dtype=np.float32).reshape(1, 1, -1)
        total += float(r)
        if term or trunc:
            return total
