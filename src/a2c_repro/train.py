"""Training driver: many seeds in lockstep, per-seed logs, checkpoints and atomic CSV output.

``train(variant, env_id, seeds, episodes, cfg, out_dir)`` is a pure function of its arguments:
the same arguments give byte-identical CSVs, and a seed's CSV is the same whether it is trained
alone or inside any group (see tests/test_engine_invariance.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .agent import AgentGroup
from .config import A2CConfig, ConfigError, validate
from .envs import env_dims
from .memory import limit_heap_growth, release_free_memory
from .seed_run import SeedRun

ENGINE_VERSION = "2"


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same directory and rename, so no reader ever sees half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def run_dir(out_dir: Path, env_id: str, variant: str) -> Path:
    return Path(out_dir) / env_id / variant


def evaluate(agent: AgentGroup, row: int, run: SeedRun) -> float:
    """One sampled (not greedy) evaluation episode on the seed's own evaluation env,
    without learning — the one-step notebook's `inference_env` loop."""
    env = run.eval_stepper
    obs, _ = env.reset()
    total = 0.0
    while True:
        u = np.array([run.eval_rng.random()], np.float32)
        a = int(agent.act(np.asarray(obs, dtype=np.float32)[None], u, row=row)[0][0])
        obs, r, term, trunc, _ = env.step(a)
        total += float(r)
        if term or trunc:
            return total


class GroupTrainer:
    """State shared by the variant loops: the agent group, the seeds' runs, logging, resume."""

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
        self.dir = run_dir(out_dir, env_id, variant)
        n_envs = cfg.n_envs if variant == "n_step" else 1
        self.runs = [SeedRun.create(s, env_id, variant, episodes, n_envs) for s in seeds]
        self.agent = AgentGroup(self.n_obs, self.n_actions, cfg, [r.init_seed for r in self.runs])
        self.finished: list[SeedRun] = []
        self.meta = {
            "engine_version": ENGINE_VERSION, "variant": variant, "env_id": env_id,
            "seeds": self.seeds, "episodes": episodes, "config": cfg.as_dict(),
        }  # fmt: skip
        key = hashlib.sha256(json.dumps(self.meta, sort_keys=True).encode()).hexdigest()[:16]
        self.ckpt_path = self.dir / f".checkpoint-{key}.pt"
        self.checkpoint_every = checkpoint_every
        self._last_ckpt = time.monotonic()
        self._last_trim = self._last_ckpt
        self.snaps: dict[int, dict] = {}
        self._snap_time: dict[int, float] = {}
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
            if run.seed not in self.snaps:
                self.snaps[run.seed] = self._snapshot(i)

    # --- episode boundaries --------------------------------------------------------------
    def _snapshot(self, row: int) -> dict:
        return {"run": self.runs[row].snapshot(), "agent": self.agent.state_of(row)}

    def end_episode(
        self,
        row: int,
        ret: float,
        length: int,
        stats: dict[str, float],
        majority: float,
        env_steps: int | None = None,
    ) -> bool:
        """Log the episode the seed in ``row`` just finished; evaluate if due; snapshot.
        Returns True when the seed still has episodes to train."""
        run = self.runs[row]
        ev = evaluate(self.agent, row, run) if run.wants_eval(self.cfg.eval_interval) else None
        run.log_episode(ret, length, stats, majority, ev, env_steps)
        self.recent.append(ret)
        # A snapshot copies the seed's weights and Adam moments; taking one at every boundary
        # would cost more than a 9-step (collapsed) episode. A quarter of the checkpoint
        # interval is often enough: a resume restarts the seed from its last snapshot. The
        # last episode is always snapshotted, so finished seeds are checkpointed complete.
        now = time.monotonic()
        due = now - self._snap_time.get(run.seed, -1e18) >= self.checkpoint_every / 4
        if self.checkpoint_every >= 0 and (run.done or due):
            self.snaps[run.seed] = self._snapshot(row)
            self._snap_time[run.seed] = now
        if self.pbar is not None:
            self.pbar.update(1)
            if run.episode % 10 == 0:
                rate = self.total_steps / max(time.perf_counter() - self.t0, 1e-9)
                self.pbar.set_postfix(
                    ret=f"{np.mean(self.recent):.1f}", steps_per_s=f"{rate:.0f}", refresh=False
                )
        return not run.done

    def drop(self, rows_done: list[int]) -> list[int]:
        """Remove finished seeds from the group; returns the kept row indices."""
        gone = set(rows_done)
        keep = [i for i in range(len(self.runs)) if i not in gone]
        for i in rows_done:
            self.finished.append(self.runs[i])
        self.runs = [self.runs[i] for i in keep]
        if keep:
            self.agent.select(keep)
        return keep

    # --- checkpoint / resume -------------------------------------------------------------
    def maybe_checkpoint(self) -> None:
        now = time.monotonic()
        if now - self._last_trim >= 5.0:
            release_free_memory()
            self._last_trim = now
        if self.checkpoint_every >= 0 and now - self._last_ckpt >= self.checkpoint_every:
            self.write_checkpoint()
            self._last_ckpt = now

    def write_checkpoint(self) -> None:
        """Every seed's state at its last episode boundary, atomically."""
        self.dir.mkdir(parents=True, exist_ok=True)
        rows = {r.seed: r.rows[: self.snaps[r.seed]["run"]["n_rows"]] for r in self.runs}
        rows.update({r.seed: r.rows for r in self.finished})
        done = {r.seed: self.snaps[r.seed] for r in self.finished}
        obj = {"meta": self.meta, "snaps": {**self.snaps, **done}, "rows": rows,
               "steps": self.total_steps}  # fmt: skip
        tmp = self.ckpt_path.with_name(self.ckpt_path.name + f".{os.getpid()}.tmp")
        torch.save(obj, tmp)
        os.replace(tmp, self.ckpt_path)

    def _maybe_resume(self) -> bool:
        if not self.ckpt_path.exists():
            return False
        obj = torch.load(self.ckpt_path, weights_only=False)
        if obj.get("meta") != self.meta:
            return False
        for i, run in enumerate(self.runs):
            snap = obj["snaps"][run.seed]
            run.restore(snap["run"], obj["rows"][run.seed])
            self.agent.load_row(i, snap["agent"])
            self.snaps[run.seed] = snap
        self.total_steps = int(obj["steps"])
        if self.pbar is not None:
            self.pbar.update(sum(r.episode for r in self.runs))
            self.pbar.write(f"resumed from {self.ckpt_path.name}", file=sys.stderr)
        done_rows = [i for i, r in enumerate(self.runs) if r.done]
        if done_rows:
            self.drop(done_rows)
        return True

    # --- output ----------------------------------------------------------------------------
    def write_outputs(self) -> list[Path]:
        self.dir.mkdir(parents=True, exist_ok=True)
        runs = sorted(self.finished + self.runs, key=lambda r: r.seed)
        paths = []
        for run in runs:
            p = self.dir / f"seed{run.seed}.csv"
            atomic_write_text(p, run.csv_text())
            paths.append(p)
        wall = time.perf_counter() - self.t0
        tdir = self.dir / "timings"
        tdir.mkdir(exist_ok=True)
        spec = seeds_spec(self.seeds)
        timing = {
            "variant": self.variant, "env_id": self.env_id, "seeds": self.seeds,
            "episodes": self.episodes, "wall_seconds": round(wall, 3),
            "agent_steps_this_process": self.total_steps,
            "agent_steps_per_second": round(self.total_steps / max(wall, 1e-9), 1),
            "resumed": self.resumed, "torch_threads": torch.get_num_threads(),
        }  # fmt: skip
        atomic_write_text(tdir / f"seeds-{spec}.json", json.dumps(timing, indent=2) + "\n")
        if self.ckpt_path.exists():
            self.ckpt_path.unlink()
        for run in runs:
            run.close()
        if self.pbar is not None:
            self.pbar.close()
        return paths


def seeds_spec(seeds: list[int]) -> str:
    """Compact, filename-safe spelling of a seed list: [0,1,2,5] → '0-2_5'."""
    parts, s = [], sorted(seeds)
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[j] + 1:
            j += 1
        parts.append(str(s[i]) if i == j else f"{s[i]}-{s[j]}")
        i = j + 1
    return "_".join(parts)


def train(
    variant: str,
    env_id: str,
    seeds: list[int],
    episodes: int,
    cfg: A2CConfig,
    out_dir: Path | str,
    checkpoint_every: float = 60.0,
    progress: bool = False,
) -> list[Path]:
    """Train every seed in ``seeds`` (in lockstep, one process) and write one CSV per seed to
    ``out_dir/<env_id>/<variant>/seed<k>.csv``. Returns the CSV paths."""
    torch.set_num_threads(1)
    limit_heap_growth()
    from . import episodic, n_step, one_step

    loops: dict[str, Callable[[GroupTrainer], None]] = {
        "one_step": one_step.run,
        "episodic": episodic.run,
        "n_step": n_step.run,
    }
    if variant not in loops:
        raise ConfigError(f"--variant {variant}: expected one of {', '.join(loops)}")
    if not seeds:
        raise ConfigError("--seeds: expected at least one seed")
    trainer = GroupTrainer(
        variant, env_id, seeds, episodes, cfg, Path(out_dir), checkpoint_every, progress
    )
    with torch.no_grad():
        if trainer.runs:
            loops[variant](trainer)
    return trainer.write_outputs()


def agent_states_at(
    variant: str, env_id: str, seed: int, cfg: A2CConfig, after_episodes: list[int]
) -> tuple[dict[int, dict], list[str]]:
    """Re-run one seed exactly as ``train`` does, up to the last episode asked for, and return
    {episode: the agent's state (weights, Adam moments) right after that training episode} and
    the run's CSV rows so far (the caller can check them against the seed's CSV). Writes nothing.
    """
    import tempfile

    from . import episodic, n_step, one_step

    loops = {"one_step": one_step.run, "episodic": episodic.run, "n_step": n_step.run}
    if variant not in loops:
        raise ConfigError(f"--variant {variant}: expected one of {', '.join(loops)}")
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

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tr = Capture(variant, env_id, [seed], max(wanted) + 1, cfg, Path(tmp), -1.0, False)
        with torch.no_grad():
            loops[variant](tr)
        run = (tr.finished + tr.runs)[0]
        run.close()
    return states, list(run.rows)
