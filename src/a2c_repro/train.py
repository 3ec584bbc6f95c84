"""Training driver: many seeds in lockstep, per-seed logs, checkpoints and atomic CSV output.

``train(variant, env_id, seeds, episodes, cfg, out_dir)`` is a pure function of its arguments:
the same arguments give byte-identical CSVs, and a seed's CSV is the same whether it is trained
alone or inside any group (see tests/test_engine_runs.py).

A variant's training loop is ``run(runner)`` in its module (one_step.py, episodic.py,
n_step.py), registered in ``LOOPS`` under its name in ``config.VARIANTS``; ``GroupTrainer`` is
the runner it is given (the interface: runner.py). Files are written where layout.py says, atomically
(atomic_io.py); checkpoints: checkpoints.py; the run's record: records.py.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import episodic, n_step, one_step
from .agent import AgentGroup
from .atomic_io import RunError, atomic_write_text, remove_stale_temp_files
from .checkpoints import Checkpoints, KillHook
from .config import VARIANTS, A2CConfig, ConfigError, validate
from .envs import env_dims
from .layout import checkpoint_file, run_dir, seed_csv
from .lockstep import evaluate
from .memory import limit_heap_growth, release_free_memory
from .records import write_record
from .run_key import ENGINE_VERSION, run_identity, run_key
from .runner import Loop
from .seed_run import SeedRun

__all__ = ["ENGINE_VERSION", "GroupTrainer", "RunError", "agent_states_at", "train"]


@dataclass(frozen=True)
class VariantLoop:
    """What the driver needs of a variant: its training loop and how many training envs
    each seed runs side by side."""

    run: Loop
    envs_per_seed: Callable[[A2CConfig], int] = lambda cfg: 1


LOOPS = {
    "one_step": VariantLoop(one_step.run),
    "episodic": VariantLoop(episodic.run),
    "n_step": VariantLoop(n_step.run, lambda cfg: cfg.n_envs),
}
assert tuple(LOOPS) == VARIANTS, "config.VARIANTS and train.LOOPS list the same variants"


def variant_loop(variant: str) -> VariantLoop:
    """The training loop of ``variant`` (a name of ``config.VARIANTS``)."""
    if variant not in LOOPS:
        raise ConfigError(f"--variant {variant}: expected one of {', '.join(VARIANTS)}")
    return LOOPS[variant]


class GroupTrainer:
    """The runner (runner.Runner) the variant loops drive: the agent group, the seeds' runs,
    logging, evaluation, checkpoints and resume, and the output files."""

    def __init__(
        self,
        variant: str,
        env_id: str,
        seeds: list[int],
        episodes: int,
        cfg: A2CConfig,
        out_dir: Path,
        checkpoint_every: float = 60.0,
        progress: bool = True,
    ) -> None:
        validate(cfg)
        if episodes <= 0:
            raise ConfigError(f"--episodes {episodes}: expected an integer > 0")
        self.variant, self.env_id, self.cfg = variant, env_id, cfg
        self.seeds, self.episodes = list(seeds), episodes
        self.n_obs, self.n_actions, self.step_limit = env_dims(env_id)
        self.out_dir = Path(out_dir)
        self.dir = run_dir(out_dir, env_id)
        n_envs = variant_loop(variant).envs_per_seed(cfg)
        self.runs = [SeedRun.create(s, env_id, variant, episodes, n_envs) for s in seeds]
        self.agent = AgentGroup(self.n_obs, self.n_actions, cfg, [r.init_seed for r in self.runs])
        self.finished: list[SeedRun] = []
        self.meta = run_identity(variant, env_id, self.seeds, episodes, cfg)
        self.ckpt = Checkpoints(
            checkpoint_file(self.dir, run_key(self.meta)), self.meta, checkpoint_every
        )
        self.resumed_episodes = 0
        self.logged = 0
        self._kill = KillHook()
        self._last_trim = time.monotonic()
        self.total_steps = 0
        self.recent = deque(maxlen=20)
        self.t0 = time.perf_counter()
        self.pbar = None
        if progress:
            from tqdm import tqdm

            self.pbar = tqdm(
                total=len(seeds) * episodes, desc=f"{variant} {env_id}", unit="ep",
                file=sys.stderr, mininterval=0.5 if sys.stderr.isatty() else 10.0,
                dynamic_ncols=True,
            )  # fmt: skip
        self.resumed = self._maybe_resume()
        for i, run in enumerate(self.runs):
            if run.seed not in self.ckpt.snaps:
                self.ckpt.snaps[run.seed] = self._snapshot(i)

    # --- the runner interface the variant loops use (runner.py) --------------------------------
    def count_steps(self, n: int) -> None:
        self.total_steps += n

    def disable_checkpoints(self) -> None:
        self.ckpt.disable()

    def end_episode(self, row, ret, length, stats, majority, env_steps=None) -> bool:
        """Log the episode the seed in ``row`` just finished; evaluate if due; snapshot.
        Returns True when the seed still has episodes to train (types: runner.Runner)."""
        run = self.runs[row]
        ev = evaluate(self.agent, row, run) if run.wants_eval(self.cfg.eval_interval) else None
        run.log_episode(ret, length, stats, majority, ev, env_steps)
        self.recent.append(ret)
        self.logged += 1
        if self.logged == self._kill.episode:
            self._kill.fire(self.ckpt, self._checkpoint_contents)
        if self.ckpt.snapshot_due(run.seed, last=run.done):
            self.ckpt.snaps[run.seed] = self._snapshot(row)
        if self.pbar is not None:
            self.pbar.update(1)
            if run.episode % 10 == 0:
                rate = self.total_steps / max(time.perf_counter() - self.t0, 1e-9)
                self.pbar.set_postfix(
                    ret=f"{np.mean(self.recent):.1f}", steps_per_s=f"{rate:.0f}", refresh=False
                )
        return not run.done

    def drop(self, rows_done: list[int]) -> list[int]:
        gone = set(rows_done)
        keep = [i for i in range(len(self.runs)) if i not in gone]
        for i in rows_done:
            self.finished.append(self.runs[i])
        self.runs = [self.runs[i] for i in keep]
        if keep:
            self.agent.select(keep)
        return keep

    def maybe_checkpoint(self) -> None:
        now = time.monotonic()
        if now - self._last_trim >= 5.0:
            release_free_memory()
            self._last_trim = now
        if self.ckpt.write_due():
            self.ckpt.write(self._checkpoint_contents())

    # --- checkpoint / resume -------------------------------------------------------------------
    def _snapshot(self, row: int) -> dict:
        return {"run": self.runs[row].snapshot(), "agent": self.agent.state_of(row)}

    def _checkpoint_contents(self) -> dict:
        return self.ckpt.contents(self.runs, self.finished, self.total_steps)

    def _maybe_resume(self) -> bool:
        removed = remove_stale_temp_files(self.dir)
        if removed:
            print(
                f"a2c-repro: removed {len(removed)} temp file(s) of a killed run in {self.dir}",
                file=sys.stderr,
            )
        if not self.ckpt.path.exists():
            return False
        obj = self.ckpt.load([run.seed for run in self.runs])
        if obj is None:
            return False
        for i, run in enumerate(self.runs):
            snap = obj["snaps"][run.seed]
            run.restore(snap["run"], obj["rows"][run.seed])
            self.agent.load_row(i, snap["agent"])
            self.ckpt.snaps[run.seed] = snap
        self.total_steps = int(obj["steps"])
        self.resumed_episodes = sum(r.episode for r in self.runs)
        if self.pbar is not None:
            self.pbar.update(sum(r.episode for r in self.runs))
            self.pbar.write(f"resumed from {self.ckpt.path.name}", file=sys.stderr)
        done_rows = [i for i, r in enumerate(self.runs) if r.done]
        if done_rows:
            self.drop(done_rows)
        return True

    # --- output --------------------------------------------------------------------------------
    def write_outputs(self, record: Path | None = None) -> list[Path]:
        """The seeds' CSVs, then the run's record (identity, key, timing): by default
        ``timings/seeds-<spec>.json`` beside the CSVs."""
        runs = sorted(self.finished + self.runs, key=lambda r: r.seed)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"cannot create {self.dir}: {exc.strerror}") from None
        paths = []
        for run in runs:
            p = seed_csv(self.out_dir, self.env_id, run.seed)
            atomic_write_text(p, run.csv_text())
            paths.append(p)
        wall = time.perf_counter() - self.t0
        write_record(record, self.dir, self.meta, {
            "wall_seconds": round(wall, 3),
            "agent_steps_this_process": self.total_steps,
            "agent_steps_per_second": round(self.total_steps / max(wall, 1e-9), 1),
            "resumed": self.resumed, "resumed_at_episodes": self.resumed_episodes,
        })  # fmt: skip
        self.ckpt.remove()
        for run in runs:
            run.close()
        if self.pbar is not None:
            self.pbar.close()
        return paths


def train(
    variant: str,
    env_id: str,
    seeds: list[int],
    episodes: int,
    cfg: A2CConfig,
    out_dir: Path | str,
    checkpoint_every: float = 60.0,
    progress: bool = False,
    record: Path | str | None = None,
) -> list[Path]:
    """Train every seed in ``seeds`` (in lockstep, one process) and write one CSV per seed to
    ``out_dir/<env_id>/<variant>/seed<k>.csv``, then the run's record (``record``, default
    ``timings/seeds-<spec>.json`` beside them; layout.py). Returns the CSV paths."""
    limit_heap_growth()
    loop = variant_loop(variant).run
    if not seeds:
        raise ConfigError("--seeds: expected at least one seed")
    trainer = GroupTrainer(
        variant, env_id, seeds, episodes, cfg, Path(out_dir), checkpoint_every, progress
    )
    if trainer.runs:
        loop(trainer)
    return trainer.write_outputs(None if record is None else Path(record))


def agent_states_at(
    variant: str, env_id: str, seed: int, cfg: A2CConfig, after_episodes: list[int]
) -> tuple[dict[int, dict], list[str]]:
    """Re-run one seed exactly as ``train`` does, up to the last episode asked for, and return
    {episode: the agent's state (weights, Adam moments) right after that training episode} and
    the run's CSV rows so far (the caller can check them against the seed's CSV). Writes nothing.
    """
    import tempfile

    loop = variant_loop(variant).run
    wanted = set(after_episodes)
    if not wanted or min(wanted) < 0:
        raise ConfigError(f"after_episodes {after_episodes}: expected episode indices >= 0")
    states: dict[int, dict] = {}

    class Capture(GroupTrainer):
        def end_episode(self, row: int, *args, **kwargs) -> bool:
            episode = self.runs[row].episode
            more = super().end_episode(row, *args, **kwargs)
            if episode in wanted:
                states[episode] = self.agent.state_of(row)
            return more

    with tempfile.TemporaryDirectory() as tmp:
        tr = Capture(variant, env_id, [seed], max(wanted) + 1, cfg, Path(tmp), -1.0, False)
        loop(tr)
        run = (tr.finished + tr.runs)[0]
        run.close()
    return states, list(run.rows)
