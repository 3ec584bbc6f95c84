"""A run's checkpoint: every seed's state at its last episode boundary, so a killed run
resumes where it stopped and writes the same bytes as an uninterrupted one.

A checkpoint is a pickle of NumPy arrays, lists and RNG states (a private, same-version file)
named by the run key (layout.checkpoint_file), written atomically. One that cannot be read, or
belongs to another run, is moved aside (``*.corrupt``) with a one-line warning and the run
starts from scratch. The test hook ``KILL_HOOK_ENV`` crashes a run at a chosen episode.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from .atomic_io import atomic_write_bytes, tmp_name
from .seed_run import SeedRun

__all__ = ["KILL_HOOK_ENV", "Checkpoints", "KillHook"]

# Test hook: "N" or "N:MODE" makes the process kill itself with SIGKILL when it has logged its
# N-th episode (summed over its seeds), after writing a checkpoint (MODE "self", the default),
# halfway through writing one (MODE "checkpoint": leaves a temp file), or together with the
# process group that leads its session (MODE "group": e.g. the Snakemake that started it).
# Tests use it to crash a run at a point they choose, whatever the machine's speed.
KILL_HOOK_ENV = "A2C_REPRO_TEST_KILL_AT_EPISODE"


class Checkpoints:
    """The checkpoint file of one run and the per-seed snapshots it is made of.

    ``every`` is the interval between writes in seconds (< 0: never). A seed is snapshotted
    (by the caller, when ``snapshot_due`` says so) at episode boundaries only, so a resume
    restarts each seed from its last snapshot."""

    def __init__(self, path: Path, meta: dict, every: float) -> None:
        self.path, self.meta, self.every = path, meta, every
        self.snaps: dict[int, dict] = {}
        self._snap_time: dict[int, float] = {}
        self._last_write = time.monotonic()

    def disable(self) -> None:
        self.every = -1.0

    def snapshot_due(self, seed: int, last: bool) -> bool:
        """Whether to snapshot ``seed`` at this boundary (and, if so, noted as taken now).

        A snapshot copies the seed's weights and Adam moments; taking one at every boundary
        would cost more than a 9-step (collapsed) episode. A quarter of the checkpoint interval
        is often enough. The ``last`` episode is always snapshotted, so finished seeds are
        checkpointed complete."""
        now = time.monotonic()
        due = now - self._snap_time.get(seed, -1e18) >= self.every / 4
        if self.every >= 0 and (last or due):
            self._snap_time[seed] = now
            return True
        return False

    def write_due(self) -> bool:
        """Whether the interval since the last write has passed (and, if so, restarted)."""
        now = time.monotonic()
        if self.every >= 0 and now - self._last_write >= self.every:
            self._last_write = now
            return True
        return False

    def contents(self, runs: list[SeedRun], finished: list[SeedRun], steps: int) -> dict:
        """The checkpoint's data: each running seed's rows up to its snapshot, finished seeds'
        rows complete, every snapshot, and the agent-steps counted so far."""
        rows = {r.seed: r.rows[: self.snaps[r.seed]["run"]["n_rows"]] for r in runs}
        rows.update({r.seed: r.rows for r in finished})
        done = {r.seed: self.snaps[r.seed] for r in finished}
        return {"meta": self.meta, "snaps": {**self.snaps, **done}, "rows": rows,
                "steps": steps}  # fmt: skip

    def write(self, contents: dict) -> None:
        """Write ``contents`` atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = pickle.dumps(contents, protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write_bytes(self.path, data)

    def load(self, seeds: list[int]) -> dict | None:
        """The checkpoint if it is readable and of this run (with rows up to the snapshot of
        each of ``seeds``); a damaged one is reported in one line and moved aside
        (``*.corrupt``), and None returned: the run starts from scratch."""
        try:
            with open(self.path, "rb") as fh:
                obj = pickle.load(fh)
            if not isinstance(obj, dict) or obj.get("meta") != self.meta:
                raise ValueError("not a checkpoint of this run")
            for seed in seeds:
                snap = obj["snaps"][seed]
                if len(obj["rows"][seed]) < snap["run"]["n_rows"]:
                    raise ValueError(f"seed {seed}'s rows are incomplete")
            return obj
        except Exception as exc:  # noqa: BLE001 (any damage at all means: start over)
            aside = self.path.with_name(self.path.name + ".corrupt")
            reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:200]
            try:
                os.replace(self.path, aside)
                where = f"moved to {aside.name}"
            except OSError as err:
                where = f"could not be moved aside ({err.strerror})"
            print(
                f"a2c-repro: warning: checkpoint {self.path} is unreadable ({reason}); "
                f"{where}; training from scratch",
                file=sys.stderr,
            )
            return None

    def remove(self) -> None:
        if self.path.exists():
            self.path.unlink()


class KillHook:
    """The crash that ``KILL_HOOK_ENV`` asks for, if any."""

    def __init__(self) -> None:
        at, _, mode = os.environ.get(KILL_HOOK_ENV, "").partition(":")
        self.episode, self.mode = (int(at), mode or "self") if at else (-1, "")

    def fire(self, ckpt: Checkpoints, contents: Callable[[], dict]) -> NoReturn:
        """Crash now: after writing the checkpoint, or halfway through writing it."""
        if self.mode == "checkpoint":
            ckpt.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp_name(ckpt.path), "wb") as fh:
                fh.write(pickle.dumps(contents())[:100])
                fh.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        ckpt.write(contents())
        if self.mode == "group":
            os.killpg(os.getsid(0), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
        raise SystemExit(137)  # not reached: SIGKILL cannot be caught
