"""Per-seed bookkeeping: RNG streams, environments, episode logs and snapshots.

Every seed owns independent streams derived from ``numpy.random.SeedSequence(seed)``:

    init   → the PCG64 stream of the initial weights (nn.Linear's default distribution)
    env    → the training env's np_random (as ``env.reset(seed=…)`` would set it)
    action → uniforms for sampling training actions
    eval   → the evaluation env's np_random and its action uniforms

so a seed's run is a function of (config, seed) alone, whatever group it is trained in.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
from gymnasium.utils import seeding

from .envs import Stepper, as_obs, make_env

COLUMNS = (
    "variant", "env_id", "seed", "episode", "return", "length", "env_steps",
    "actor_loss", "critic_loss", "entropy", "eval_return",
    "abs_advantage", "value_mean", "actor_grad_norm", "critic_grad_norm",
    "top_prob_gt_099", "majority_action_frac", "diverged",
)  # fmt: skip
# An episode is flagged `diverged` (1) when a logged loss or gradient norm is not finite or
# exceeds this bound in magnitude (healthy runs stay below ~1e9, the broadcast loss included).
DIVERGENCE_BOUND = 1e12
_WATCHED = ("actor_loss", "critic_loss", "actor_grad_norm", "critic_grad_norm")


def diverged(*values: float) -> bool:
    """Any value non-finite or beyond DIVERGENCE_BOUND in magnitude (NaN included)."""
    return not all(abs(v) <= DIVERGENCE_BOUND for v in values)
# Per-episode means the variants report, in this order.
STATS = (
    "actor_loss", "critic_loss", "entropy", "abs_advantage", "value_mean",
    "actor_grad_norm", "critic_grad_norm", "top_prob_gt_099",
)  # fmt: skip


def _u32(ss: np.random.SeedSequence, n: int = 1) -> list[int]:
    return [int(x) for x in ss.generate_state(n, np.uint32)]


def _fmt(x: float) -> str:
    return format(float(x), ".9g")


@dataclass
class SeedRun:
    """One seed's environments, RNG streams and log rows."""

    seed: int
    env_id: str
    variant: str
    n_episodes: int
    n_envs: int = 1
    steppers: list[Stepper] = field(default_factory=list)  # the k training envs
    eval_stepper: Stepper | None = None
    act_rng: np.random.Generator | None = None
    eval_rng: np.random.Generator | None = None
    init_seed: int = 0
    episode: int = 0  # episodes completed (also the index of the next one)
    env_steps: int = 0
    rows: list[str] = field(default_factory=list)
    warned: bool = False  # a divergence warning was printed for this seed

    @classmethod
    def create(cls, seed: int, env_id: str, variant: str, n_episodes: int, n_envs: int = 1):
        init_ss, env_ss, act_ss, eval_env_ss, eval_act_ss = np.random.SeedSequence(seed).spawn(5)
        run = cls(seed=seed, env_id=env_id, variant=variant, n_episodes=n_episodes, n_envs=n_envs)
        run.init_seed = _u32(init_ss)[0]
        envs = [make_env(env_id) for _ in range(n_envs)]
        for env, s in zip(envs, _u32(env_ss, n_envs)):
            env.unwrapped._np_random = seeding.np_random(s)[0]
        eval_env = make_env(env_id)
        eval_env.unwrapped._np_random = seeding.np_random(_u32(eval_env_ss)[0])[0]
        run.steppers = [Stepper(e) for e in envs]
        run.eval_stepper = Stepper(eval_env)
        run.act_rng = np.random.Generator(np.random.PCG64(act_ss))
        run.eval_rng = np.random.Generator(np.random.PCG64(eval_act_ss))
        return run

    @property
    def done(self) -> bool:
        return self.episode >= self.n_episodes

    def reset(self, k: int = 0) -> np.ndarray:
        obs, _ = self.steppers[k].reset()
        return as_obs(obs)

    def wants_eval(self, eval_interval: int) -> bool:
        """After training episode e, evaluate when e % interval == 0 (the notebook: 0, 50, …)."""
        return eval_interval > 0 and self.episode % eval_interval == 0

    def log_episode(
        self,
        ret: float,
        length: int,
        stats: dict[str, float],
        majority_frac: float,
        eval_return: float | None,
        env_steps: int | None = None,
    ) -> None:
        """Append one CSV row for the episode just finished and advance the counters.
        ``env_steps`` overrides the running sum of lengths (n_step: steps over all k envs)."""
        self.env_steps = self.env_steps + length if env_steps is None else env_steps
        bad = [k for k in _WATCHED if diverged(stats[k])]
        if bad and not self.warned:
            self.warned = True
            print(
                f"a2c-repro: warning: seed {self.seed} diverged at episode {self.episode} "
                f"({', '.join(f'{k}={stats[k]:.3g}' for k in bad)}; bound "
                f"{DIVERGENCE_BOUND:g}); its CSV flags such episodes in column 'diverged'",
                file=sys.stderr,
            )
        fields_ = [
            self.variant,
            self.env_id,
            str(self.seed),
            str(self.episode),
            repr(float(ret)),
            str(length),
            str(self.env_steps),
            _fmt(stats["actor_loss"]),
            _fmt(stats["critic_loss"]),
            _fmt(stats["entropy"]),
            "" if eval_return is None else repr(float(eval_return)),
            _fmt(stats["abs_advantage"]),
            _fmt(stats["value_mean"]),
            _fmt(stats["actor_grad_norm"]),
            _fmt(stats["critic_grad_norm"]),
            _fmt(stats["top_prob_gt_099"]),
            _fmt(majority_frac),
            "1" if bad else "0",
        ]
        self.rows.append(",".join(fields_))
        self.episode += 1

    def csv_text(self) -> str:
        return ",".join(COLUMNS) + "\n" + "".join(r + "\n" for r in self.rows)

    # --- snapshots for resume ------------------------------------------------------------
    def snapshot(self) -> dict:
        """State at an episode boundary, taken before the next episode's reset."""
        return {
            "episode": self.episode,
            "env_steps": self.env_steps,
            "n_rows": len(self.rows),
            "env_rng": [e.unwrapped.np_random.bit_generator.state for e in self._envs()],
            "eval_env_rng": self.eval_stepper.env.unwrapped.np_random.bit_generator.state,
            "act_rng": self.act_rng.bit_generator.state,
            "eval_rng": self.eval_rng.bit_generator.state,
            "warned": self.warned,
        }

    def restore(self, snap: dict, rows: list[str]) -> None:
        self.episode = int(snap["episode"])
        self.env_steps = int(snap["env_steps"])
        self.rows = list(rows)
        for e, st in zip(self._envs(), snap["env_rng"]):
            e.unwrapped.np_random.bit_generator.state = st
        self.eval_stepper.env.unwrapped.np_random.bit_generator.state = snap["eval_env_rng"]
        self.act_rng.bit_generator.state = snap["act_rng"]
        self.eval_rng.bit_generator.state = snap["eval_rng"]
        self.warned = bool(snap["warned"])

    def _envs(self) -> list:
        return [st.env for st in self.steppers]

    def close(self) -> None:
        for e in [*self._envs(), self.eval_stepper.env]:
            e.close()
