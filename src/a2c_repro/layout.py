"""Where a run's files go, defined once: the engines write there, the CLI's help spells it
from here and the pipeline names its outputs with it.

    OUT/<env>/seed<k>.csv                  one CSV per seed
    OUT/<env>/timings/seeds-<spec>.json    the run's record (unless --record says)
    OUT/<env>/.checkpoint-<key>.pkl        the checkpoint, while the run is unfinished

OUT names what is trained (the pipeline's OUT is results/runs/<experiment>/<arm>): the
variant and its hyperparameters are in each CSV's rows and in the record, not in the path.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["checkpoint_file", "default_record", "out_dir_of", "run_dir", "seed_csv", "seeds_spec"]


def run_dir(out_dir: Path | str, env_id: str) -> Path:
    """The directory of the runs on ``env_id`` under ``out_dir``."""
    return Path(out_dir) / env_id


def seed_csv(out_dir: Path | str, env_id: str, seed: int | str) -> Path:
    """Seed ``seed``'s per-episode CSV."""
    return run_dir(out_dir, env_id) / f"seed{seed}.csv"


def out_dir_of(csv: Path | str) -> Path:
    """The ``out_dir`` that ``seed_csv`` was given for the CSV ``csv`` (what ``--out`` names)."""
    return Path(csv).parents[1]


def default_record(run_dir_: Path | str, spec: str) -> Path:
    """The record of the run of the seeds ``spec`` (``seeds_spec``) when no path is given."""
    return Path(run_dir_) / "timings" / f"seeds-{spec}.json"


def checkpoint_file(run_dir_: Path, key: str) -> Path:
    """The checkpoint of the run whose run key is ``key`` (run_key.py)."""
    return run_dir_ / f".checkpoint-{key}.pkl"


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
