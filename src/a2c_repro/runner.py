"""The runner interface: all that a variant's training loop (one_step.run, episodic.run,
n_step.run) may use of the driver that calls it (train.GroupTrainer).

A loop trains ``runs`` (one SeedRun per seed still training, in the agent group's row
order) in lockstep with ``agent`` and reports through the methods below; the driver owns
logging, evaluation, checkpoints and output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .agent import AgentGroup
from .config import A2CConfig
from .seed_run import SeedRun

__all__ = ["Loop", "Runner"]


@runtime_checkable
class Runner(Protocol):
    cfg: A2CConfig
    agent: AgentGroup
    runs: list[SeedRun]
    n_obs: int
    n_actions: int
    step_limit: int  # the env's episode step limit; 0 = none

    def count_steps(self, n: int) -> None:
        """Agent-steps taken this lockstep (all seeds): the record's throughput figure."""

    def disable_checkpoints(self) -> None:
        """For loops that cannot stop at a clean boundary for every seed (n_step)."""

    def end_episode(
        self,
        row: int,
        ret: float,
        length: int,
        stats: dict[str, float],
        majority: float,
        env_steps: int | None = None,
    ) -> bool:
        """The seed in ``row`` finished an episode: log it (evaluate if due, snapshot).
        Returns True when the seed still has episodes to train."""

    def drop(self, rows_done: list[int]) -> list[int]:
        """Remove finished seeds from ``runs`` and ``agent``; returns the kept row indices."""

    def maybe_checkpoint(self) -> None:
        """Called between lockstep steps: write a checkpoint if one is due."""


Loop = Callable[[Runner], None]
