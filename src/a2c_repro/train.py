"""Training driver: many seeds in lockstep, per-seed logs, checkpoints and atomic CSV output.

``train(variant, env_id, seeds, episodes, cfg, out_dir)`` is a pure function of its arguments:
the same arguments give byte-identical CSVs, and a seed's CSV is the same whether it is trained
alone or inside any group (see tests/test_engine_runs.py).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .agent import AgentGroup
from .config import A2CConfig, ConfigError, validate
from .envs import env_dims
from .memory import limit_heap_growth, release_free_memory
from .run_key import ENGINE_VERSION, run_identity, run_key
from .seed_run import SeedRun

__all__ = ["ENGINE_VERSION", "RunError", "train"]

# Test hook: "N" or "N:MODE" makes the process kill itself with SIGKILL when it has logged its
# N-th episode (summed over its seeds), after writing a checkpoint (MODE "self", the default),
# halfway through writing one (MODE "checkpoint": leaves a temp file), or together with the
# process group that leads its session (MODE "group": e.g. the Snakemake that started it).
# Tests use it to crash a run at a point they choose, whatever the machine's speed.
KILL_HOOK_ENV = "A2C_REPRO_TEST_KILL_AT_EPISODE"

_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"


class RunError(RuntimeError):
    """A fault outside the arguments (unwritable output, full disk): one line naming the path."""


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{_HOST}.{os.getpid()}.tmp")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temp file in the same directory and rename, so no reader ever sees half.
    On any write error the temp file is removed and a one-line RunError names ``path``."""
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RunError(f"cannot write {path}: {exc.strerror or exc}") from None


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def remove_stale_temp_files(directory: Path) -> list[Path]:
    """Delete temp files that a killed process of this host left in ``directory`` (its pid
    is gone); a live process's temp files (another seed group writing beside us) are kept."""
    removed = []
    pat = re.compile(rf"^\..+\.{re.escape(_HOST)}\.(\d+)\.tmp$")
    for p in directory.glob(".*.tmp") if directory.is_dir() else []:
        m = pat.match(p.name)
        if m is None or _pid_alive(int(m.group(1))):
            continue
        p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        self.meta = run_identity(variant, env_id, self.seeds, episodes, cfg)
        self.key = run_key(self.meta)
        self.ckpt_path = self.dir / f".checkpoint-{self.key}.pkl"
        self.resumed_episodes = 0
        self.logged = 0
        kill = os.environ.get(KILL_HOOK_ENV, "")
        at, _, mode = kill.partition(":")
        self._kill_at, self._kill_mode = (int(at), mode or "self") if at else (-1, "")
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

    # --- the runner interface the variant loops use ------------------------------------------
    def count_steps(self, n: int) -> None:
        """Agent-steps taken this lockstep (all seeds): the record's throughput figure."""
        self.total_steps += n

    def disable_checkpoints(self) -> None:
        """For loops that cannot stop at a clean boundary for every seed (n_step)."""
        self.checkpoint_every = -1.0

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
        self.logged += 1
        if self.logged == self._kill_at:
            self._kill_now()
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

    def _kill_now(self) -> None:
        """The test hook's crash (see KILL_HOOK_ENV)."""
        if self._kill_mode == "checkpoint":
            tmp = _tmp_name(self.ckpt_path)
            self.dir.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(pickle.dumps(self._checkpoint_obj())[:100])
                fh.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        self.write_checkpoint()
        if self._kill_mode == "group":
            os.killpg(os.getsid(0), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)

    # --- checkpoint / resume -------------------------------------------------------------
    def maybe_checkpoint(self) -> None:
        now = time.monotonic()
        if now - self._last_trim >= 5.0:
            release_free_memory()
            self._last_trim = now
        if self.checkpoint_every >= 0 and now - self._last_ckpt >= self.checkpoint_every:
            self.write_checkpoint()
            self._last_ckpt = now

    def _checkpoint_obj(self) -> dict:
        rows = {r.seed: r.rows[: self.snaps[r.seed]["run"]["n_rows"]] for r in self.runs}
        rows.update({r.seed: r.rows for r in self.finished})
        done = {r.seed: self.snaps[r.seed] for r in self.finished}
        return {"meta": self.meta, "snaps": {**self.snaps, **done}, "rows": rows,
                "steps": self.total_steps}  # fmt: skip

    def write_checkpoint(self) -> None:
        """Every seed's state at its last episode boundary, atomically (a pickle of NumPy
        arrays, lists and RNG states: a checkpoint is a private, same-version file)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        data = pickle.dumps(self._checkpoint_obj(), protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write_bytes(self.ckpt_path, data)

    def _load_checkpoint(self) -> dict | None:
        """The checkpoint if it is readable and of this run; a damaged one is reported in one
        line and moved aside (``*.corrupt``), and the run starts from scratch."""
        try:
            with open(self.ckpt_path, "rb") as fh:
                obj = pickle.load(fh)
            if not isinstance(obj, dict) or obj.get("meta") != self.meta:
                raise ValueError("not a checkpoint of this run")
            for run in self.runs:
                snap = obj["snaps"][run.seed]
                if len(obj["rows"][run.seed]) < snap["run"]["n_rows"]:
                    raise ValueError(f"seed {run.seed}'s rows are incomplete")
            return obj
        except Exception as exc:  # noqa: BLE001 (any damage at all means: start over)
            aside = self.ckpt_path.with_name(self.ckpt_path.name + ".corrupt")
            reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:200]
            try:
                os.replace(self.ckpt_path, aside)
                where = f"moved to {aside.name}"
            except OSError as err:
                where = f"could not be moved aside ({err.strerror})"
            print(
                f"a2c-repro: warning: checkpoint {self.ckpt_path} is unreadable ({reason}); "
                f"{where}; training from scratch",
                file=sys.stderr,
            )
            return None

    def _maybe_resume(self) -> bool:
        removed = remove_stale_temp_files(self.dir)
        if removed:
            print(
                f"a2c-repro: removed {len(removed)} temp file(s) of a killed run in {self.dir}",
                file=sys.stderr,
            )
        if not self.ckpt_path.exists():
            return False
        obj = self._load_checkpoint()
        if obj is None:
            return False
        for i, run in enumerate(self.runs):
            snap = obj["snaps"][run.seed]
            run.restore(snap["run"], obj["rows"][run.seed])
            self.agent.load_row(i, snap["agent"])
            self.snaps[run.seed] = snap
        self.total_steps = int(obj["steps"])
        self.resumed_episodes = sum(r.episode for r in self.runs)
        if self.pbar is not None:
            self.pbar.update(sum(r.episode for r in self.runs))
            self.pbar.write(f"resumed from {self.ckpt_path.name}", file=sys.stderr)
        done_rows = [i for i, r in enumerate(self.runs) if r.done]
        if done_rows:
            self.drop(done_rows)
        return True

    # --- output ----------------------------------------------------------------------------
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
            p = self.dir / f"seed{run.seed}.csv"
            atomic_write_text(p, run.csv_text())
            paths.append(p)
        wall = time.perf_counter() - self.t0
        write_record(record, self.dir, self.meta, {
            "wall_seconds": round(wall, 3),
            "agent_steps_this_process": self.total_steps,
            "agent_steps_per_second": round(self.total_steps / max(wall, 1e-9), 1),
            "resumed": self.resumed, "resumed_at_episodes": self.resumed_episodes,
        })  # fmt: skip
        if self.ckpt_path.exists():
            self.ckpt_path.unlink()
        for run in runs:
            run.close()
        if self.pbar is not None:
            self.pbar.close()
        return paths


def write_record(record: Path | None, run_dir_: Path, identity: dict, timing: dict) -> Path:
    """A run's record: its identity, run key and timing, atomically, at ``record`` or by
    default at ``timings/seeds-<spec>.json`` in the run's directory. Both engines write it."""
    if record is None:
        record = run_dir_ / "timings" / f"seeds-{seeds_spec(identity['seeds'])}.json"
    record = Path(record)
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create {record.parent}: {exc.strerror}") from None
    info = {"key": run_key(identity), "identity": identity, **timing}
    atomic_write_text(record, json.dumps(info, indent=2) + "\n")
    return record


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
    record: Path | str | None = None,
) -> list[Path]:
    """Train every seed in ``seeds`` (in lockstep, one process) and write one CSV per seed to
    ``out_dir/<env_id>/<variant>/seed<k>.csv``, then the run's record (``record``, default
    ``timings/seeds-<spec>.json`` beside them). Returns the CSV paths."""
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
    if trainer.runs:
        loops[variant](trainer)
    return trainer.write_outputs(None if record is None else Path(record))


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

    with tempfile.TemporaryDirectory() as tmp:
        tr = Capture(variant, env_id, [seed], max(wanted) + 1, cfg, Path(tmp), -1.0, False)
        loops[variant](tr)
        run = (tr.finished + tr.runs)[0]
        run.close()
    return states, list(run.rows)
